import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGISTRY_MARKER, STORE_PROTOCOL } from "../../src/lifecycle/replicas.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { spawnApp, type AppProcess } from "../helpers/app-process.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { deliver, examplePayload } from "../helpers/webhooks.js";

/**
 * Issue 12.3: during a rolling upgrade, a release either shares the store
 * safely with the other replicas or refuses to start beside them and says
 * why. The real server process, on Redis and on the embedded store.
 */

/** GitHub is a closed loopback port: nothing here may reach the network. */
const credentials = { ...testAppCredentials(), GHE_HOST: "127.0.0.1:1", GHE_PROTOCOL: "http" };
const HOUR = 3_600_000;

/** Starts the server and waits for it to exit (a refused start-up); its exit code and what it printed. */
async function startToExit(env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  const app = await spawnApp({ env, cwd, waitForHealth: false });
  const code = await new Promise<number | null>((done) => (app.child.exitCode === null ? app.child.once("exit", done) : done(app.child.exitCode)));
  return { code, output: app.output() };
}

/** The one line a refused start-up prints (stderr), among the JSON log lines. */
function refusalLine(output: string): string | undefined {
  return output.split("\n").find((line) => line.startsWith("ephemera: "));
}

describe("replicas of two releases on one store", () => {
  let redis: PrivateRedis;
  let store: RedisStore;
  const prefix = "sharing:";
  const cwds: string[] = [];
  const workDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "ephemera-sharing-"));
    cwds.push(dir);
    return dir;
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    store = createRedisStore({ url: redis.url, prefix });
  });
  afterAll(async () => {
    await store.close();
    await redis.stop();
    for (const dir of cwds) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to start beside a live replica of another protocol, naming it and what to do; starts once it is gone, registered until it stops", async () => {
    const env = { ...credentials, REDIS_URL: redis.url, EPHEMERA_KEY_PREFIX: prefix };
    const older = { owner: "old-web:4242:0a0a0a0a", protocol: STORE_PROTOCOL - 1, startedAt: "2026-12-06T09:00:00.000Z" };
    await store.registerReplica(older, HOUR);
    const lastSeenAt = (await store.listReplicas())[0]?.lastSeenAt;

    const refused = await startToExit(env, workDir());
    expect(refused.code).toBe(1);
    expect(refusalLine(refused.output)).toBe(
      `ephemera: this store is in use by replicas of another release: old-web:4242:0a0a0a0a (store protocol ${STORE_PROTOCOL - 1}, last seen ${lastSeenAt}). ` +
        `This release (store protocol ${STORE_PROTOCOL}) cannot share the store with them, because the notifier now keeps the PR's comment and deployment ids in its own \`github\` key under the \`notify_lock\` (no longer in \`artifacts\` through a \`shown\` intent), ` +
        "and GitHub writes are paced by token buckets in the store (no longer by Probot's Bottleneck in Redis): beside each other the two would make a second comment or deployment for a head sha and overrun GitHub's write limits: " +
        "stop those replicas first, then start this one",
    );
    // It took back the entry it wrote while it looked.
    expect(await store.listReplicas()).toEqual([{ ...older, lastSeenAt }]);

    await store.removeReplica(older.owner);
    let app: AppProcess | undefined = await spawnApp({ env, cwd: workDir() });
    try {
      const replicas = await store.listReplicas();
      expect(replicas).toEqual([{ owner: expect.stringContaining(`:${app.child.pid}:`), protocol: STORE_PROTOCOL, startedAt: expect.any(String), lastSeenAt: expect.any(String) }]);

      // A newer release's live replica makes this release refuse in turn.
      const newer = { owner: "new-web:7:0b0b0b0b", protocol: STORE_PROTOCOL + 1, startedAt: "2026-12-06T11:00:00.000Z" };
      await store.registerReplica(newer, HOUR);
      const beside = await startToExit(env, workDir());
      expect(beside.code).toBe(1);
      expect(refusalLine(beside.output)).toMatch(/^ephemera: this store is in use by replicas of another release: new-web:7:0b0b0b0b \(store protocol \d+, last seen [^)]+\)\. .*because a later release writes the store in a form this one does not know: stop those replicas first, then start this one$/);
      await store.removeReplica(newer.owner);

      expect(await app.stop()).toBe(0);
      app = undefined;
      expect(await store.listReplicas()).toEqual([]);
    } finally {
      await app?.stop();
    }
  }, 120_000);

  it("stops a running replica whose entry lapsed while a replica of another protocol joined", async () => {
    const env = { ...credentials, REDIS_URL: redis.url, EPHEMERA_KEY_PREFIX: prefix };
    const app = await spawnApp({ env, cwd: workDir() });
    try {
      const [self] = await store.listReplicas();
      expect(self?.owner).toContain(`:${app.child.pid}:`);
      // As if the store had been out of reach for longer than an entry lives, and another release had started meanwhile.
      await store.removeReplica(self?.owner ?? "");
      const newer = { owner: "new-worker:9:0c0c0c0c", protocol: STORE_PROTOCOL + 1, startedAt: "2026-12-06T11:30:00.000Z" };
      await store.registerReplica(newer, HOUR);

      // Its next heartbeat (every 10 s) finds its entry gone, joins again and is refused: it stops, exit 1.
      const code = await new Promise<number | null>((done) => (app.child.exitCode === null ? app.child.once("exit", done) : done(app.child.exitCode)));
      expect(code).toBe(1);
      expect(app.output()).toContain("this replica may no longer share the store");
      expect(await store.listReplicas()).toEqual([expect.objectContaining({ owner: newer.owner })]);
      await store.removeReplica(newer.owner);
    } finally {
      await app.stop();
    }
  }, 120_000);

  it("records no delivery before it has joined the registry, when the store did not answer at start", async () => {
    const late = await startPrivateRedis();
    const lateStore = createRedisStore({ url: late.url, prefix });
    await late.kill();
    const app = await spawnApp({ env: { ...credentials, REDIS_URL: late.url, EPHEMERA_KEY_PREFIX: prefix }, cwd: workDir() });
    try {
      const payload = { ...examplePayload("pull_request", "opened"), installation: { id: 7, node_id: "MDIz" } };
      const send = async () => (await deliver(app.url("/api/github/webhooks"), "pull_request", payload, { secret: credentials.WEBHOOK_SECRET })).status;
      expect(await send()).toBe(500);
      await late.start();
      // Until it has joined (its next heartbeat, within 10 s) deliveries are refused; the first one taken finds it registered.
      const answers: Array<{ status: number; registered: boolean }> = [];
      await waitFor(async () => {
        const status = await send();
        answers.push({ status, registered: (await lateStore.listReplicas()).some((replica) => replica.owner.includes(`:${app.child.pid}:`)) });
        return status === 200;
      }, () => JSON.stringify(answers), 30_000, 200);
      expect(answers.filter(({ status, registered }) => status === 200 && !registered)).toEqual([]);
      expect(answers.every(({ status }) => status === 200 || status === 500)).toBe(true);
    } finally {
      await app.stop();
      await lateStore.close();
      await late.stop();
    }
  }, 120_000);

  it("on a store an earlier release wrote (environments, no registry): refuses until EPHEMERA_STORE_TAKEOVER=1, then needs it no more", async () => {
    const cwd = workDir();
    const dataDir = join(cwd, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    const earlier = openSqliteStore({ dataDir, prefix: "ephemera:" });
    await earlier.recordIntent({ repoId: 77, pr: 1 }, { type: "refresh", at: "2026-12-06T09:00:00.000Z" }, { keyTtlMs: HOUR });
    await earlier.close();

    const refused = await startToExit(credentials, cwd);
    expect(refused.code).toBe(1);
    expect(refusalLine(refused.output)).toMatch(
      /^ephemera: this store was last written by a release before store protocol 2 that does not register its replicas, so none of them can be seen; this release cannot share the store with them, because .*: stop every replica of it, then start with EPHEMERA_STORE_TAKEOVER=1 once$/,
    );

    const takingOver = await spawnApp({ env: { ...credentials, EPHEMERA_STORE_TAKEOVER: "1" }, cwd });
    expect(await takingOver.stop()).toBe(0);
    const later = await spawnApp({ env: credentials, cwd });
    expect(await later.stop()).toBe(0);
  }, 120_000);

  it("starts on an empty store with no confirmation, and marks it for the next start", async () => {
    const cwd = workDir();
    const first = await spawnApp({ env: credentials, cwd });
    expect(await first.stop()).toBe(0);
    const written = openSqliteStore({ dataDir: join(cwd, "data"), prefix: "ephemera:" });
    try {
      expect(JSON.parse((await written.getMeta(REGISTRY_MARKER)) ?? "null")).toEqual({ since: expect.any(String), protocol: STORE_PROTOCOL });
      expect(await written.listReplicas()).toEqual([]);
    } finally {
      await written.close();
    }
    const again = await spawnApp({ env: credentials, cwd });
    expect(await again.stop()).toBe(0);
  }, 120_000);
});
