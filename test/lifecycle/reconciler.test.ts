import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Reconciler } from "../../src/lifecycle/reconciler.js";
import { waitFor } from "../helpers/wait-for.js";
import { closeIntent, FAST, openIntent, pushIntent, runsPerSha } from "./harness.js";
import { makeWorld, type World } from "./world.js";

/**
 * The reconciler end to end against the embedded store: real run steps
 * (shell scripts that log each run), real leases and commits.
 */

const SHA1 = "1".repeat(40);
const SHA2 = "2".repeat(40);

function template(extra: object = {}) {
  return {
    ttl: "2h",
    maxTtl: "7d",
    warnBefore: "1h",
    steps: [
      { name: "build", run: "./step.sh build" },
      { name: "deploy", run: "./step.sh deploy", onUpdate: true, env: { URL: "https://pr.preview.test" } },
    ],
    teardown: [{ name: "undeploy", run: "./step.sh undeploy" }],
    ...extra,
  };
}

let world: World | undefined;
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});

describe("reconciler", () => {
  it("costs one reconcile pass per push: nothing the notifier learns comes back through the inbox", async () => {
    world = await makeWorld({ config: { templates: { default: template() } } });
    const { lifecycle, reconciler } = world;
    const key = { repoId: 111, pr: 1 };
    await lifecycle.record(key, openIntent(SHA1));
    reconciler.start();
    await world.until(key, "ready", (f) => f.status === "ready");
    await waitFor(async () => (await world?.store.load(key))?.inbox.length === 0 && (await reconciler.runDue()) === 0, () => "the inbox drained and nothing due");
    const before = world.passes();

    await lifecycle.record(key, pushIntent(SHA2));
    await world.until(key, "deploy for the new head", (f) => f.status === "ready" && f.checkpoints?.deploy?.sha === SHA2);
    await waitFor(async () => (await world?.store.load(key))?.inbox.length === 0 && (await reconciler.runDue()) === 0, () => "the inbox drained and nothing due");
    expect(world.passes() - before).toBe(1);
  });

  it("creates, becomes ready, renews and re-runs only onUpdate steps on a push, and tears down on close", async () => {
    world = await makeWorld({ config: { templates: { default: template() } } });
    const { lifecycle, reconciler, ws, notifier } = world;
    const key = { repoId: 101, pr: 1 };
    await lifecycle.record(key, openIntent(SHA1), "delivery-1");
    expect(await lifecycle.record(key, openIntent(SHA1), "delivery-1")).toBe("duplicate");
    reconciler.start();

    const ready = await world.until(key, "ready", (f) => f.status === "ready");
    expect(ready.artifacts?.url).toBe("https://pr.preview.test");
    expect(ready.checkpoints?.deploy?.sha).toBe(SHA1);
    const firstExpiry = Date.parse(ready.expires_at ?? "");

    await new Promise((resolve) => setTimeout(resolve, 20));
    await lifecycle.record(key, pushIntent(SHA2));
    const updated = await world.until(key, "deploy for the new head", (f) => f.status === "ready" && f.checkpoints?.deploy?.sha === SHA2);
    expect(Date.parse(updated.expires_at ?? "")).toBeGreaterThan(firstExpiry);
    expect(updated.checkpoints?.build?.sha).toBe(SHA1);

    await lifecycle.record(key, closeIntent());
    const deleted = await world.until(key, "deleted", (f) => f.status === "deleted");
    expect(deleted.checkpoints).toEqual({});
    expect((await world.store.load(key))?.dueAt).toBeNull();

    const ends = runsPerSha(ws.lines(), "end");
    expect(Object.fromEntries(ends)).toEqual({
      [`101/pr-1/build/${SHA1}`]: 1,
      [`101/pr-1/deploy/${SHA1}`]: 1,
      [`101/pr-1/deploy/${SHA2}`]: 1,
    });
    expect(ws.lines().filter((line) => line.step === "undeploy" && line.kind === "end")).toHaveLength(1);
    const events = notifier.eventsOf(key);
    expect(events).toContain("ready");
    expect(events).toContain("renewed");
    expect(events.at(-1)).toBe("deleted");
    expect(await world.store.admissionCounts()).toEqual({ active: 0, queued: 0 });
  });

  it("tears down an expired environment without any event, warning first", async () => {
    // The engine's clock is moved instead of waited for: into the warning's second, then past the expiry.
    let ahead = 0;
    world = await makeWorld({ config: { templates: { default: template({ ttl: "2s", warnBefore: "1s" }) } }, now: () => Date.now() + ahead });
    const key = { repoId: 102, pr: 7 };
    await world.lifecycle.record(key, openIntent(SHA1));
    world.reconciler.start();
    const ready = await world.until(key, "ready", (f) => f.status === "ready");
    const expiresAt = Date.parse(ready.expires_at ?? "");
    const { notifier } = world;
    ahead = expiresAt - 500 - Date.now();
    await waitFor(() => notifier.eventsOf(key).includes("expiry_warning"), "the expiry warning");
    ahead = expiresAt + 100 - Date.now();
    const deleted = await world.until(key, "deleted by expiry", (f) => f.status === "deleted", 10_000);
    expect(deleted.desired).toMatchObject({ open: false, closeReason: "expired" });
    const events = world.notifier.eventsOf(key);
    expect(events.indexOf("expiry_warning")).toBeGreaterThan(events.indexOf("ready"));
    expect(events.filter((event) => event === "expiry_warning")).toHaveLength(1);
    const last = world.notifier.notices.at(-1);
    expect(last?.events.at(-1)).toMatchObject({ event: "deleted", detail: "expired" });
    expect(world.ws.lines().filter((line) => line.step === "undeploy" && line.kind === "end")).toHaveLength(1);
  });

  it("retries a failing step with backoff, then fails with its error, and still tears down on close", async () => {
    world = await makeWorld({ config: { templates: { default: template() } } });
    const key = { repoId: 103, pr: 2 };
    world.ws.breakStep("deploy", "the registry is down");
    await world.lifecycle.record(key, openIntent(SHA1));
    world.reconciler.start();
    const failed = await world.until(key, "failed", (f) => f.status === "failed");
    expect(failed.artifacts?.error?.step).toBe("deploy");
    expect(failed.artifacts?.error?.message).toContain("exited with code 1");
    expect(failed.artifacts?.error?.message).toContain("step deploy is broken: the registry is down");
    const starts = world.ws.lines().filter((line) => line.step === "deploy" && line.kind === "start");
    expect(starts).toHaveLength(3);
    // Backoff: each retry waited at least half its delay (50 ms, then 100 ms, jitter 0.5).
    expect((starts[1]?.at ?? 0) - (starts[0]?.at ?? 0)).toBeGreaterThanOrEqual(25);
    expect((starts[2]?.at ?? 0) - (starts[1]?.at ?? 0)).toBeGreaterThanOrEqual(50);
    expect(world.notifier.eventsOf(key).filter((event) => event === "step_retry")).toHaveLength(2);

    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (f) => f.status === "deleted");
    expect(world.ws.lines().filter((line) => line.step === "undeploy" && line.kind === "end")).toHaveLength(1);
  });

  it("runs a failed environment's steps again on a new push", async () => {
    world = await makeWorld({ config: { templates: { default: template() } } });
    const key = { repoId: 104, pr: 3 };
    world.ws.breakStep("deploy", "flaky");
    await world.lifecycle.record(key, openIntent(SHA1));
    world.reconciler.start();
    await world.until(key, "failed", (f) => f.status === "failed");
    world.ws.heal("deploy");
    await world.lifecycle.record(key, pushIntent(SHA2));
    const ready = await world.until(key, "ready", (f) => f.status === "ready");
    expect(ready.artifacts?.error).toBeUndefined();
    expect(ready.checkpoints?.deploy?.sha).toBe(SHA2);
  });

  it("queues above the limit with its position and starts when a place frees", async () => {
    world = await makeWorld({ config: { templates: { default: template() }, limits: { maxActive: 1, maxActivePerRepo: 1 } } });
    const first = { repoId: 105, pr: 1 };
    const second = { repoId: 105, pr: 2 };
    world.reconciler.start();
    await world.lifecycle.record(first, openIntent(SHA1));
    await world.until(first, "first ready", (f) => f.status === "ready");
    await world.lifecycle.record(second, openIntent(SHA1));
    const queued = await world.until(second, "second queued", (f) => f.status === "queued");
    expect(queued.artifacts?.queuePosition).toBe(1);
    await world.lifecycle.requestTeardown(first);
    await world.until(second, "second ready", (f) => f.status === "ready");
    expect((await world.store.load(first))?.fields.status).toBe("deleted");
    expect(await world.store.admissionCounts()).toEqual({ active: 1, queued: 0 });
  });

  it("waits for an approval pinned to the head sha before provisioning a fork PR", async () => {
    world = await makeWorld({ config: { templates: { default: template() } } });
    const key = { repoId: 106, pr: 4 };
    world.reconciler.start();
    await world.lifecycle.record(key, openIntent(SHA1, { fork: true }));
    const pending = await world.until(key, "blocked", (f) => f.status === "pending");
    expect(pending.artifacts?.blocked).toContain("/preview deploy");
    await world.lifecycle.record(key, { type: "approve", at: new Date().toISOString(), sha: SHA1, actor: "maintainer" });
    await world.until(key, "ready", (f) => f.status === "ready");
    await world.lifecycle.record(key, pushIntent(SHA2, { fork: true }));
    const held = await world.until(key, "held for the new head", (f) => f.artifacts?.blocked !== undefined);
    expect(held.artifacts?.blocked).toContain("A newer push is waiting for approval");
    expect(held.checkpoints?.deploy?.sha).toBe(SHA1);
    expect(world.ws.lines().filter((line) => line.sha === SHA2)).toEqual([]);
  });

  it("re-runs every step on redeploy and extends the expiry up to maxTtl", async () => {
    world = await makeWorld({ config: { templates: { default: template({ maxTtl: "3h" }) } } });
    const key = { repoId: 107, pr: 5 };
    world.reconciler.start();
    await world.lifecycle.record(key, openIntent(SHA1));
    const ready = await world.until(key, "ready", (f) => f.status === "ready");
    await world.lifecycle.redeploy(key, { actor: "maintainer" });
    await world.until(key, "redeployed", (f) => f.status === "ready" && f.checkpoints?.build?.generation === 1);
    expect(Object.fromEntries(runsPerSha(world.ws.lines(), "end"))).toEqual({
      [`107/pr-5/build/${SHA1}`]: 2,
      [`107/pr-5/deploy/${SHA1}`]: 2,
    });
    const before = Date.parse(ready.expires_at ?? "");
    await world.lifecycle.extend(key, { actor: "maintainer", byMs: 30 * 60_000 });
    const extended = await world.until(key, "extended", (f) => Date.parse(f.expires_at ?? "") > before);
    expect(Date.parse(extended.expires_at ?? "") - before).toBe(30 * 60_000);
    await world.lifecycle.extend(key, { actor: "maintainer", byMs: 24 * 3_600_000 });
    const capped = await world.until(key, "capped", (f) => Date.parse(f.expires_at ?? "") > before + 30 * 60_000);
    expect(Date.parse(capped.expires_at ?? "")).toBeLessThanOrEqual(Date.now() + 3 * 3_600_000);
    expect(Date.parse(capped.expires_at ?? "")).toBeGreaterThan(Date.now() + 3 * 3_600_000 - 10_000);
  });

  it("does not resurrect a closed PR on a late synchronize, and a reopen revives it", async () => {
    world = await makeWorld({ config: { templates: { default: template() } } });
    const key = { repoId: 108, pr: 6 };
    world.reconciler.start();
    const pushedAt = new Date(Date.UTC(2026, 5, 1, 12, 0, 1)).toISOString();
    await world.lifecycle.record(key, openIntent(SHA1, {}, new Date(Date.UTC(2026, 5, 1, 12)).toISOString()));
    await world.until(key, "ready", (f) => f.status === "ready");
    await world.lifecycle.record(key, closeIntent(new Date(Date.UTC(2026, 5, 1, 12, 0, 2)).toISOString()));
    await world.lifecycle.record(key, pushIntent(SHA2, {}, pushedAt));
    await world.until(key, "deleted", (f) => f.status === "deleted");
    // Done with it: the late push folded in (inbox empty) and nothing left due.
    const { store } = world;
    const settled = await waitFor(async () => {
      const snapshot = await store.load(key);
      return snapshot?.inbox.length === 0 && snapshot.dueAt === null && snapshot;
    }, "the late push folded in and nothing due");
    expect(settled.fields.status).toBe("deleted");
    await world.lifecycle.record(key, openIntent(SHA2, {}, new Date(Date.UTC(2026, 5, 1, 13)).toISOString()));
    const revived = await world.until(key, "revived", (f) => f.status === "ready");
    expect(revived.checkpoints?.build?.sha).toBe(SHA2);
  });

  it("reads and drops a `shown` report an earlier release left in the inbox, writing nothing for it", async () => {
    world = await makeWorld({ config: { templates: { default: template() } } });
    const key = { repoId: 109, pr: 8 };
    world.reconciler.start();
    await world.lifecycle.record(key, openIntent(SHA1));
    const ready = await world.until(key, "ready", (f) => f.status === "ready");
    const notices = world.notifier.notices.length;
    await world.lifecycle.record(key, { type: "shown", at: new Date().toISOString(), commentId: 77, deployment: { sha: SHA1, id: 88 } });
    const { store } = world;
    await waitFor(async () => (await store.load(key))?.inbox.length === 0);
    expect((await store.load(key))?.fields.artifacts).toEqual(ready.artifacts);
    expect(world.notifier.notices).toHaveLength(notices);
  });

  it("aborts the running step and stops when a lease renewal is refused, and another worker finishes", async () => {
    world = await makeWorld({
      // The step sleeps as long as the file `delay` says: 20 s for the first worker, none for the second.
      config: { templates: { default: { steps: [{ name: "slow", run: './step.sh slow "$(cat delay)"' }, { name: "after", run: "./step.sh after" }] } } },
    });
    writeFileSync(join(world.ws.dir, "delay"), "20");
    const key = { repoId: 110, pr: 9 };
    // This worker's store refuses its renewals once the step runs, as when its lease ran out and another worker took it.
    const { ws } = world;
    const slowStarted = () => ws.lines().some((line) => line.step === "slow" && line.kind === "start");
    const losing = new Proxy(world.store, {
      get: (target, name, receiver) =>
        name === "renewLease" ? async (...args: Parameters<typeof target.renewLease>) => !slowStarted() && target.renewLease(...args) : Reflect.get(target, name, receiver),
    });
    const loser = new Reconciler({ ...world.reconciler.deps, store: losing }, FAST);
    await world.lifecycle.record(key, openIntent(SHA1));
    const started = Date.now();
    await loser.runDue();
    // Stopped at the first renewal, not after the 20 s step, and committed nothing after it.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(world.ws.lines().filter((line) => line.step === "slow").map((line) => line.kind)).toEqual(["start"]);
    const left = await world.store.load(key);
    expect(left?.fields.checkpoints?.slow).toBeUndefined();
    expect(left?.fields.artifacts?.progress?.started).toEqual(["slow"]);

    writeFileSync(join(world.ws.dir, "delay"), "0");
    world.reconciler.start();
    const ready = await world.until(key, "ready after the takeover", (f) => f.status === "ready");
    expect(Object.keys(ready.checkpoints ?? {})).toEqual(["slow", "after"]);
  });
});
