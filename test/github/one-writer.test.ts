import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitHubNotifier } from "../../src/github/github-notifier.js";
import type { EnvKey, Status } from "../../src/lifecycle/environment.js";
import type { EventLogEntry } from "../../src/lifecycle/environment.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import type { EnvFields } from "../../src/lifecycle/state-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from "../helpers/fake-github.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * Issue 11's three GitHub symptoms, provoked on purpose: replicas of the
 * notifier on one Redis racing on one PR against a GitHub that answers
 * slowly (random latency before and after each request), a writer that
 * dies between GitHub's answer and recording the id, and a close racing a
 * push. Each case runs ROUNDS times on fresh PRs; none may show a symptom.
 *
 * Measured against the notifier before the one-writer claim (10 rounds
 * each): two comments in 10, 10 and 8 rounds of three runs, two
 * deployments for one sha in 9, 6 and 8; a close racing a push left a
 * deployment active in 2 rounds of each of two runs; the dying writer made
 * nothing twice (the marker and sha lookups already found it) but its
 * successor now waits out its claim. The catch-up case left the deployment
 * `success` every time (no catch-up existed).
 */

const ROUNDS = 10;
const INSTALLATION = 77;
const HOUR = 3_600_000;
const credentials = testAppCredentials();
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } }));
const silent = pino({ level: process.env.TEST_LOG ?? "silent" });
const sha = (n: number) => n.toString(16).padStart(40, "0");

let gh: FakeGitHub;
let redis: PrivateRedis;
let repo: FakeRepo;
const stores: RedisStore[] = [];
const prefix = `one-writer-${randomUUID().slice(0, 8)}:`;
let nextPr = 1;

beforeAll(async () => {
  [gh, redis] = await Promise.all([startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY }), startPrivateRedis()]);
  repo = gh.addRepo({ id: 5151, owner: "acme", name: "web", installationId: INSTALLATION });
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await redis?.stop();
  await gh?.close();
});

interface ReplicaOptions {
  /** Hangs forever once GitHub has answered a request matching this (the process is gone). */
  dieAfter?: RegExp;
}

/** One app process: its own store client, its own Probot (token cache, Octokit), one notifier. */
function replica(name: string, options: ReplicaOptions = {}): GitHubNotifier {
  const store = createRedisStore({ url: redis.url, prefix });
  stores.push(store);
  const probot = new Probot({ appId: credentials.APP_ID, privateKey: credentials.PRIVATE_KEY, baseUrl: gh.baseUrl, Octokit, log: silent });
  return new GitHubNotifier({
    store,
    owner: `${name}-${randomUUID().slice(0, 6)}`,
    template: () => undefined,
    octokitFor: async ({ installationId }) => slow(await probot.auth(installationId), options),
    bot: { botLogin: `${gh.bot.login}` },
    log: silent,
    coalesceMs: 0,
    claimTtlMs: 1500,
  });
}

/** GitHub answering in 0–40 ms, and seen 0–40 ms later, as across a network. */
function slow(octokit: ProbotOctokit, { dieAfter }: ReplicaOptions): ProbotOctokit {
  octokit.hook.wrap("request", async (request, requestOptions) => {
    await sleep(Math.random() * 40);
    const response = await request(requestOptions);
    if (dieAfter?.test(`${requestOptions.method} ${requestOptions.url}`)) await new Promise(() => undefined);
    await sleep(Math.random() * 40);
    return response;
  });
  return octokit;
}

/** The reconciler's side: commits a state, as a worker holding the lease does. */
async function reconcile(key: EnvKey, status: Status, headSha: string): Promise<Partial<EnvFields>> {
  const store = stores[0] ?? createRedisStore({ url: redis.url, prefix });
  if (!stores.includes(store)) stores.push(store);
  const owner = "reconciler";
  await store.acquireLease(key, "lease", owner, HOUR);
  const now = new Date().toISOString();
  const fields: Partial<EnvFields> = {
    status,
    expires_at: new Date(Date.now() + HOUR).toISOString(),
    desired: {
      open: status !== "deleted",
      openAt: now,
      repo: "acme/web",
      installationId: INSTALLATION,
      headSha,
      headRef: "feature",
      headAt: now,
      fork: false,
      draft: false,
      labels: [],
      redeployGeneration: 0,
    },
    artifacts: { deployments: {}, outputs: {}, ...(status === "ready" ? { url: `https://pr-${key.pr}.preview.example` } : {}) },
  };
  expect(await store.commit(key, { name: "lease", owner }, { set: fields, dueAt: null, keyTtlMs: 2 * HOUR })).toBe("committed");
  await store.releaseLease(key, "lease", owner);
  return fields;
}

function notice(key: EnvKey, fields: Partial<EnvFields>, event: string): Parameters<GitHubNotifier["environmentChanged"]>[0] {
  const events: EventLogEntry[] = [{ at: new Date().toISOString(), event }];
  return { key, fields, previousStatus: "provisioning", events };
}

function freshPr(headSha: string): EnvKey {
  const pr = nextPr++;
  gh.setPull(repo, { number: pr, head: { sha: headSha, ref: `feature-${pr}` } });
  return { repoId: repo.id, pr };
}

const ours = (pr: number) => gh.commentsOn(repo, pr).filter((comment) => comment.user.login === gh.bot.login);
const deploymentsOf = (pr: number) => gh.deploymentsOf(repo, `preview/pr-${pr}`);

describe("one writer per PR on GitHub", () => {
  it("two replicas told of the same change at once make one comment and one deployment per sha", async () => {
    const [a, b] = [replica("a"), replica("b")];
    const symptoms = { twoComments: 0, twoDeployments: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const key = freshPr(sha(round + 1));
      const fields = await reconcile(key, "ready", sha(round + 1));
      await Promise.all([a.environmentChanged(notice(key, fields, "ready")), b.environmentChanged(notice(key, fields, "ready"))]);
      await Promise.all([a.drain(), b.drain()]);
      if (ours(key.pr).length > 1) symptoms.twoComments++;
      if (deploymentsOf(key.pr).filter((deployment) => deployment.sha === sha(round + 1)).length > 1) symptoms.twoDeployments++;
    }
    expect(symptoms).toEqual({ twoComments: 0, twoDeployments: 0 });
  });

  it("a writer that dies between GitHub's answer and recording the id leaves its successor nothing to make again", async () => {
    const symptoms = { twoComments: 0, twoDeployments: 0 };
    // Fewer rounds: each waits out the dead writer's claim.
    for (let round = 0; round < ROUNDS / 2; round++) {
      const dying = replica("dying", { dieAfter: round % 2 ? /^POST .*\/comments$/ : /^POST .*\/deployments$/ });
      const successor = replica("successor");
      const key = freshPr(sha(100 + round));
      const fields = await reconcile(key, "ready", sha(100 + round));
      void dying.environmentChanged(notice(key, fields, "ready"));
      // Until GitHub has made what the dying writer asked for.
      await waitFor(() => (round % 2 ? ours(key.pr).length > 0 : deploymentsOf(key.pr).length > 0), "the first write", 10_000);
      await successor.environmentChanged(notice(key, fields, "ready"));
      await successor.drain();
      if (ours(key.pr).length !== 1) symptoms.twoComments++;
      if (deploymentsOf(key.pr).length !== 1) symptoms.twoDeployments++;
    }
    expect(symptoms).toEqual({ twoComments: 0, twoDeployments: 0 });
  });

  it("after a close that races a push, every deployment of the PR ends inactive", async () => {
    const [a, b] = [replica("a"), replica("b")];
    let activeAfterClose = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const key = freshPr(sha(200 + round));
      const ready = await reconcile(key, "ready", sha(200 + round));
      await a.environmentChanged(notice(key, ready, "ready"));
      await a.drain();
      // A push: one replica starts showing the new head…
      gh.setPull(repo, { number: key.pr, head: { sha: sha(300 + round), ref: `feature-${key.pr}` } });
      const pushed = await reconcile(key, "provisioning", sha(300 + round));
      await a.environmentChanged(notice(key, pushed, "provisioning"));
      // …while the PR closes and another replica shows the teardown.
      await sleep(Math.random() * 60);
      const deleted = await reconcile(key, "deleted", sha(300 + round));
      await b.environmentChanged(notice(key, deleted, "deleted"));
      await Promise.all([a.drain(), b.drain()]);
      const active = deploymentsOf(key.pr).filter((deployment) => deployment.statuses.at(-1)?.state !== "inactive");
      if (active.length > 0) activeAfterClose++;
    }
    expect(activeAfterClose).toBe(0);
  });

  it("a status whose update died with its replica is shown at the next catch-up", async () => {
    const shower = replica("shower");
    const key = freshPr(sha(500));
    const provisioning = await reconcile(key, "provisioning", sha(500));
    await shower.environmentChanged(notice(key, provisioning, "provisioning"));
    await shower.drain();
    // Ready is committed, and the replica that would have shown it dies before its update runs: no notice reaches anyone.
    await reconcile(key, "ready", sha(500));
    const successor = replica("successor");
    expect(await successor.catchUp()).toBeGreaterThanOrEqual(1);
    await successor.drain();
    expect(deploymentsOf(key.pr).map((deployment) => deployment.statuses.at(-1)?.state)).toEqual(["success"]);
    // Shown: the next catch-up asks nothing of GitHub for it.
    const requests = gh.requests.length;
    await successor.catchUp();
    await successor.drain();
    expect(gh.requests.slice(requests).filter((request) => request.path.includes("/deployments"))).toEqual([]);
  });

  it("a teardown whose update died with its replica ends inactive at the next catch-up", async () => {
    const shower = replica("shower");
    const key = freshPr(sha(400));
    const ready = await reconcile(key, "ready", sha(400));
    await shower.environmentChanged(notice(key, ready, "ready"));
    await shower.drain();
    // The teardown's notice reaches a replica that dies once GitHub has listed the deployments, before any is made inactive.
    const dying = replica("dying", { dieAfter: /^GET .*\/deployments\?environment=/ });
    const deleted = await reconcile(key, "deleted", sha(400));
    void dying.environmentChanged(notice(key, deleted, "deleted"));
    await waitFor(
      () => gh.requests.some((request) => request.method === "GET" && request.path === "/repos/acme/web/deployments" && request.query?.environment === `preview/pr-${key.pr}` && request.query.sha === undefined),
      "the deployments listed",
      10_000,
    );
    const successor = replica("successor");
    expect(await successor.catchUp()).toBeGreaterThanOrEqual(1);
    await successor.drain();
    expect(deploymentsOf(key.pr).map((deployment) => deployment.statuses.at(-1)?.state)).toEqual(["inactive"]);
    // Recorded: the next catch-up leaves it be.
    const requests = gh.requests.length;
    await successor.catchUp();
    await successor.drain();
    expect(gh.requests.slice(requests).filter((request) => request.path.includes(`/deployments`))).toEqual([]);
  });
});
