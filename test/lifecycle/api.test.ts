import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { describeEnvironment } from "../../src/read-model/describe-environment.js";
import { matchingEnvironments } from "../../src/read-model/environment-filter.js";
import { listEnvironments } from "../../src/read-model/list-environments.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { closeIntent, openIntent } from "./harness.js";
import { makeWorld, type World } from "./world.js";

/**
 * The lifecycle API the GitHub layer and the CLI call, against Redis: a
 * whole cycle through the reconciler, `list`/`get`, and `gc` reaping what
 * expired without a worker running.
 */

const SHA = "e".repeat(40);
let redis: PrivateRedis;
let world: World | undefined;

beforeAll(async () => {
  redis = await startPrivateRedis();
});
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});
afterAll(() => redis.stop());

async function redisWorld(config: object, now?: () => number) {
  const store = createRedisStore({ url: redis.url, prefix: `api${randomBytes(3).toString("hex")}:` });
  return makeWorld({ store, config, ...(now && { now }) });
}

const template = (extra: object = {}) => ({
  templates: {
    default: {
      steps: [{ name: "deploy", run: "./step.sh deploy", env: { URL: "https://pr.preview.test" } }],
      teardown: [{ name: "undeploy", run: "./step.sh undeploy" }],
      ...extra,
    },
  },
});

describe("lifecycle API on Redis", () => {
  it("lists and inspects environments through a whole cycle", async () => {
    world = await redisWorld(template());
    const { lifecycle, reconciler } = world;
    const first = { repoId: 701, pr: 1 };
    const second = { repoId: 702, pr: 9 };
    await lifecycle.record(first, openIntent(SHA), "d-1");
    await lifecycle.record(second, openIntent(SHA), "d-2");
    const pending = await describeEnvironment(world.store, first);
    expect(pending).toMatchObject({ pendingIntents: 1, desired: { open: true, headSha: SHA }, fields: {} });

    reconciler.start();
    await world.until(first, "ready", (fields) => fields.status === "ready");
    await world.until(second, "ready", (fields) => fields.status === "ready");
    const listed = await listEnvironments(world.store);
    expect(listed).toEqual([
      { repoId: 701, repo: "octo/app", pr: 1, status: "ready", expiresAt: expect.any(String), url: "https://pr.preview.test", since: expect.any(String) },
      { repoId: 702, repo: "octo/app", pr: 9, status: "ready", expiresAt: expect.any(String), url: "https://pr.preview.test", since: expect.any(String) },
    ]);
    expect(matchingEnvironments(listed, { repoIds: [702] }).map((environment) => environment.pr)).toEqual([9]);

    await lifecycle.requestTeardown(first, { reason: "destroy" });
    await world.until(first, "deleted", (fields) => fields.status === "deleted");
    const state = await describeEnvironment(world.store, first);
    expect(state?.desired).toMatchObject({ open: false, closeReason: "destroy" });
    expect(state?.events.map((event) => event.event)).toContain("teardown_started");

    // `/preview deploy` brings a destroyed environment back.
    await lifecycle.record(first, { type: "approve", at: new Date().toISOString(), sha: SHA, actor: "maintainer" });
    await world.until(first, "ready again", (fields) => fields.status === "ready");
    await lifecycle.record(first, closeIntent(new Date(Date.now() + 1_000).toISOString()));
    await world.until(first, "deleted again", (fields) => fields.status === "deleted");
    expect(world.ws.lines().filter((line) => line.env === "pr-1" && line.step === "undeploy" && line.kind === "end")).toHaveLength(2);
  });

  it("reaps what expired with gc, no worker running", async () => {
    // The engine's clock, moved past the expiry instead of waiting for it.
    let ahead = 0;
    world = await redisWorld(template({ ttl: "2s", warnBefore: "1s" }), () => Date.now() + ahead);
    const key = { repoId: 703, pr: 3 };
    await world.lifecycle.record(key, openIntent(SHA));
    expect(await world.reconciler.runDue()).toBe(1);
    expect((await world.store.load(key))?.fields.status).toBe("ready");
    ahead += 2_100;
    expect(await world.reconciler.runDue()).toBeGreaterThanOrEqual(1);
    const reaped = await world.store.load(key);
    expect(reaped?.fields.status).toBe("deleted");
    expect(reaped?.fields.desired?.closeReason).toBe("expired");
    // Reaped after the expiry itself: too late to warn, so it does not.
    expect(world.notifier.eventsOf(key)).toEqual([
      "provisioning",
      "step_started",
      "step_completed",
      "ready",
      "teardown_started",
      "teardown_step",
      "teardown_step",
      "deleted",
    ]);
  });
});
