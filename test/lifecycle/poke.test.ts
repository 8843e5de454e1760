import { afterEach, describe, expect, it } from "vitest";
import type { StateStore } from "../../src/lifecycle/state-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { closeIntent, openIntent, pushIntent, stepWorkspace } from "./harness.js";
import { waitFor } from "../helpers/wait-for.js";
import { makeWorld, type World } from "./world.js";

/**
 * A recorded intent pokes the reconciler: the work is found at once, not at
 * the next idle poll, and a storm of intents costs a bounded number of passes.
 * The poll here is a minute, so anything found sooner was found by a poke.
 */

const SHA1 = "1".repeat(40);
const SLOW_POLL = { idlePollMs: 60_000, pokeDelayMs: 25, pokeSpacingMs: 250 };
const template = { ttl: "2h", steps: [{ name: "deploy", run: "./step.sh deploy", onUpdate: true }] };

let world: World | undefined;
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});

/** The store, counting its `claimDue` calls: one per pass of the reconciler's loop. */
function countingClaims(store: StateStore): { store: StateStore; claims: () => number } {
  let claims = 0;
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (name === "claimDue" && typeof value === "function") {
        return (...args: unknown[]) => {
          claims += 1;
          return value.apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: counted, claims: () => claims };
}

describe("poking the reconciler", () => {
  it("reconciles a recorded intent long before the idle poll", async () => {
    world = await makeWorld({ config: { templates: { default: template } }, options: SLOW_POLL });
    world.reconciler.start();
    // Let the loop's first pass find nothing and settle into its minute-long wait.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const key = { repoId: 301, pr: 1 };
    const recordedAt = Date.now();
    await world.lifecycle.record(key, openIntent(SHA1));
    await world.until(key, "ready", (fields) => fields.status === "ready", 10_000);
    expect(Date.now() - recordedAt).toBeLessThan(SLOW_POLL.idlePollMs / 10);
  });

  it("wakes at most once per spacing interval under a storm of intents", async () => {
    const ws = stepWorkspace();
    const counting = countingClaims(openSqliteStore({ file: `${ws.dir}/state.sqlite`, prefix: "ephemera:" }));
    world = await makeWorld({ config: { templates: { default: template } }, options: SLOW_POLL, store: counting.store });
    world.reconciler.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = counting.claims();
    const started = Date.now();
    // 8 PRs, a push every 5 ms for a second and a half.
    let recorded = 0;
    for (; Date.now() - started < 1_500; recorded += 1) {
      await world.lifecycle.record({ repoId: 302, pr: (recorded % 8) + 1 }, recorded < 8 ? openIntent(SHA1) : pushIntent(SHA1));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const elapsed = Date.now() - started;
    const passes = counting.claims() - before;
    // Each wake is one pass, plus the claims that refill slots the pass filled
    // (concurrency 4, 8 PRs: at most 8 / 1 more per pass).
    const wakes = Math.ceil(elapsed / SLOW_POLL.pokeSpacingMs) + 1;
    expect(passes).toBeGreaterThan(0);
    expect(passes).toBeLessThanOrEqual(wakes * 9);
    // Without the spacing every recorded intent would be a pass of its own.
    expect(passes).toBeLessThan(recorded / 4);
    for (let pr = 1; pr <= 8; pr += 1) await world.until({ repoId: 302, pr }, `pr ${pr} ready`, (fields) => fields.status === "ready", 10_000);
    ws.dispose();
  });

  it("stops a running step for a close recorded here at once, not at the next lease renewal", async () => {
    const renewEveryMs = 20_000;
    world = await makeWorld({
      config: { templates: { default: { steps: [{ name: "migrate", run: "./step.sh migrate 30" }] } } },
      options: { ...SLOW_POLL, renewEveryMs, leaseTtlMs: 3 * renewEveryMs },
    });
    const key = { repoId: 303, pr: 1 };
    await world.lifecycle.record(key, openIntent(SHA1));
    world.reconciler.start();
    await waitFor(() => world?.ws.lines().some((line) => line.step === "migrate"), "the step to start");
    const closedAt = Date.now();
    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (fields) => fields.status === "deleted", renewEveryMs);
    expect(Date.now() - closedAt).toBeLessThan(renewEveryMs / 4);
    expect(world.ws.lines().filter((line) => line.step === "migrate").map((line) => line.kind)).toEqual(["start"]);
  });
});
