import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StateStore } from "../../src/lifecycle/state-store.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { runMainToExit, spawnApp, type AppProcess } from "../helpers/app-process.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { deployOnEveryPushConfig } from "../helpers/operator-config.js";
import { prCommentEvent, pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { deliver } from "../helpers/webhooks.js";

/**
 * Issue 15.1: EPHEMERA_ROLE. A web process and a worker process, both the
 * real server (src/main.ts), on one private Redis against the fake GitHub:
 * the web process only records, the worker does the work and hears of each
 * intent at once (the store's wakes), not at its idle poll (1 s).
 */

const credentials = testAppCredentials();
const scenario: PrScenario = { repoId: 6601, owner: "octo", name: "roles", installationId: 88, pr: 7 };
const key = { repoId: scenario.repoId, pr: scenario.pr };
const sha = (n: number) => String(n).repeat(40);
const WEBHOOK_PATH = "/api/github/webhooks";
/** The worker's idle poll (DEFAULT_ENGINE_OPTIONS.idlePollMs, 1 s): an intent found through a wake is picked up well before half of it. */
const PICKED_UP_WITHIN_MS = 500;

describe("a web process and a worker process on one Redis", () => {
  let gh: FakeGitHub;
  let redis: PrivateRedis;
  let store: StateStore;
  let web: AppProcess;
  let worker: AppProcess | undefined;
  let dir: string;
  const env = () => ({
    ...credentials,
    ...gh.env,
    REDIS_URL: redis.url,
    EPHEMERA_KEY_PREFIX: "roles:",
    EPHEMERA_CONFIG: join(dir, "ephemera.config.yml"),
  });
  const startWorker = () => spawnApp({ env: { ...env(), EPHEMERA_ROLE: "worker" }, cwd: mkdtempSync(join(tmpdir(), "ephemera-worker-")) });

  beforeAll(async () => {
    gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
    gh.addRepo({ id: scenario.repoId, owner: scenario.owner, name: scenario.name, installationId: scenario.installationId });
    gh.setPermission("octo/roles", "maintainer", "write");
    redis = await startPrivateRedis();
    dir = mkdtempSync(join(tmpdir(), "ephemera-roles-"));
    writeFileSync(join(dir, "ephemera.config.yml"), deployOnEveryPushConfig());
    web = await spawnApp({ env: { ...env(), EPHEMERA_ROLE: "web" }, cwd: mkdtempSync(join(tmpdir(), "ephemera-web-")) });
    store = createRedisStore({ url: redis.url, prefix: "roles:" });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await worker?.dispose();
    await web?.dispose();
    await redis?.stop();
    await gh?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function send(action: "opened" | "synchronize", n: number, at: Date): Promise<void> {
    gh.setPull("octo/roles", { number: scenario.pr, head: { sha: sha(n), ref: "feature" } });
    const response = await deliver(web.url(WEBHOOK_PATH), "pull_request", pullRequestEvent(scenario, action, { sha: sha(n), at }), { secret: credentials.WEBHOOK_SECRET });
    expect(response.status, web.output()).toBe(200);
  }

  async function readyFor(headSha: string, output: () => string): Promise<void> {
    await waitFor(async () => {
      const snapshot = await store.load(key);
      const ours = gh.deploymentsOf("octo/roles", `preview/pr-${scenario.pr}`).find((deployment) => deployment.sha === headSha);
      return snapshot?.fields.status === "ready" && snapshot.fields.checkpoints?.deploy?.sha === headSha && ours?.statuses.at(-1)?.state === "success";
    }, output);
  }

  it("the web process records a PR opened and a slash-command and touches nothing else; a worker started later makes it ready and answers the command", async () => {
    let at = Date.now() - 60_000;
    gh.clearRequests();
    await send("opened", 1, new Date((at += 1000)));
    // The intake answers once the intent is recorded: it is in the store, and nobody consumes it.
    const recorded = await store.load(key);
    expect(recorded?.inbox.map((intent) => intent.type)).toEqual(["open"]);
    expect(recorded?.fields.status).toBeUndefined();
    // A slash-command is recorded as it is; its permission check, reaction and reply are the worker's.
    const command = gh.addComment("octo/roles", scenario.pr, { body: "/preview extend 2h", user: "maintainer" });
    const commented = await deliver(web.url(WEBHOOK_PATH), "issue_comment", prCommentEvent(scenario, "/preview extend 2h", { login: "maintainer", at: new Date((at += 1000)), id: command.id }), {
      secret: credentials.WEBHOOK_SECRET,
    });
    expect(commented.status, web.output()).toBe(200);
    expect((await store.load(key))?.inbox.map((intent) => intent.type)).toEqual(["open", "command"]);
    // Not a GitHub request of any kind from the web process: no token, no comment, no reaction, no deployment (no step ran either: no status).
    await gh.settled();
    expect(gh.requests).toEqual([]);

    worker = await startWorker();
    await readyFor(sha(1), () => worker?.output() ?? "");
    expect(gh.commentsOn("octo/roles", scenario.pr).filter((comment) => comment.user.login === gh.bot.login)).toHaveLength(1);
    await waitFor(() => gh.state.reactionsOn(command.id).length > 0, () => worker?.output() ?? "");
    expect(gh.state.reactionsOn(command.id).map((reaction) => reaction.content)).toEqual(["+1"]);

    // Each push reaches the running worker through the store's wake, not its idle poll. The median of
    // five: one push slowed by a busy machine must not fail the test (the wake itself is checked
    // exactly in test/store), while pickups at the idle poll's pace (uniform over 1 s) put the
    // median past half of it.
    const pickups: number[] = [];
    for (const n of [2, 3, 4, 5, 6]) {
      await send("synchronize", n, new Date((at += 1000)));
      const answered = performance.now();
      await waitFor(async () => (await store.load(key))?.inbox.length === 0, () => worker?.output() ?? "", 10_000, 5);
      pickups.push(performance.now() - answered);
      await readyFor(sha(n), () => worker?.output() ?? "");
    }
    const median = [...pickups].sort((a, b) => a - b)[2] ?? Infinity;
    expect(median, `pushes picked up after ${pickups.map(Math.round).join(", ")} ms`).toBeLessThan(PICKED_UP_WITHIN_MS);
    expect(gh.unexpected).toEqual([]);
  }, 120_000);

  it("a worker serves the probes and /metrics and answers 404 to anything else, the webhook path first; the web process serves the probes too", async () => {
    worker ??= await startWorker();
    for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await fetch(worker.url(path))).status, path).toBe(200);
    const webhook = await deliver(worker.url(WEBHOOK_PATH), "pull_request", pullRequestEvent(scenario, "synchronize", { sha: sha(9), at: new Date() }), { secret: credentials.WEBHOOK_SECRET });
    expect(webhook.status).toBe(404);
    expect((await fetch(worker.url("/ping"))).status).toBe(404);
    expect((await fetch(worker.url("/api/environments"))).status).toBe(404);
    for (const path of ["/healthz", "/readyz", "/metrics"]) expect((await fetch(web.url(path))).status, path).toBe(200);
  }, 120_000);

  it("both register in the replica registry", async () => {
    worker ??= await startWorker();
    const owners = (await store.listReplicas()).map((replica) => replica.owner);
    expect(owners).toEqual(expect.arrayContaining([expect.stringContaining(`:${web.child.pid}:`), expect.stringContaining(`:${worker.child.pid}:`)]));
  });
});

describe("EPHEMERA_ROLE on the embedded store", () => {
  it.each(["web", "worker"])("refuses %s at start-up, saying why", async (role) => {
    const { code, stderr } = await runMainToExit({ ...credentials, EPHEMERA_ROLE: role });
    expect(code).toBe(1);
    expect(stderr).toContain(
      `ephemera: EPHEMERA_ROLE=${role} needs Redis (REDIS_URL, EPHEMERA_REDIS_CLUSTER_NODES or EPHEMERA_REDIS_SENTINELS): the embedded store is one file that one process owns, so it runs with EPHEMERA_ROLE=all only`,
    );
  });
});
