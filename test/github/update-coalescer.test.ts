import { describe, expect, it, vi } from "vitest";
import { createUpdateCoalescer } from "../../src/github/update-coalescer.js";

/** A run the test finishes by hand, recording when it started. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("createUpdateCoalescer", () => {
  it("folds requests made in one burst into one run of the latest", async () => {
    const coalescer = createUpdateCoalescer({ onError: vi.fn() });
    const ran: number[] = [];
    for (let i = 0; i < 10; i++) coalescer.request("repo:1:pr-42", async () => void ran.push(i));
    await coalescer.drain();
    expect(ran).toEqual([9]);
  });

  it("runs once more after a running update when requests arrive meanwhile, never two at once", async () => {
    const coalescer = createUpdateCoalescer({ onError: vi.fn() });
    const ran: number[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const first = gate();
    const update = (i: number, wait?: Promise<void>) => async () => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await wait;
      ran.push(i);
      inFlight--;
    };

    coalescer.request("pr-42", update(0, first.opened));
    await settle(); // run 0 is now running
    for (let i = 1; i < 10; i++) {
      coalescer.request("pr-42", update(i));
      await settle();
    }
    first.open();
    await coalescer.drain();

    expect(ran).toEqual([0, 9]);
    expect(mostInFlight).toBe(1);
  });

  it("runs different PRs independently, at most `concurrency` at a time, in request order", async () => {
    const coalescer = createUpdateCoalescer({ concurrency: 2, onError: vi.fn() });
    const started: string[] = [];
    const gates = new Map(["a", "b", "c"].map((key) => [key, gate()]));
    for (const [key, { opened }] of gates) {
      coalescer.request(key, async () => {
        started.push(key);
        await opened;
      });
    }
    await settle();
    expect(started).toEqual(["a", "b"]);

    gates.get("b")!.open();
    await settle();
    expect(started).toEqual(["a", "b", "c"]);

    gates.get("a")!.open();
    gates.get("c")!.open();
    await coalescer.drain();
  });

  it("reports a failed run and keeps serving the key", async () => {
    const onError = vi.fn();
    const coalescer = createUpdateCoalescer({ onError });
    const failure = new Error("GitHub said 500");
    coalescer.request("pr-42", async () => {
      throw failure;
    });
    await coalescer.drain();
    expect(onError).toHaveBeenCalledWith("pr-42", failure);

    const ran = vi.fn(async () => {});
    coalescer.request("pr-42", ran);
    await coalescer.drain();
    expect(ran).toHaveBeenCalledOnce();
  });

  it("drains at once when idle, and waits for runs requested while draining", async () => {
    const coalescer = createUpdateCoalescer({ onError: vi.fn() });
    await coalescer.drain();

    const ran: string[] = [];
    coalescer.request("pr-1", async () => {
      ran.push("first");
      coalescer.request("pr-1", async () => void ran.push("follow-up"));
    });
    await coalescer.drain();
    expect(ran).toEqual(["first", "follow-up"]);
  });
});
