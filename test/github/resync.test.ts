import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { installationClients, type InstallationClients, type RepositoryScope } from "../../src/github/installation-clients.js";
import { describeEnvironment } from "../../src/read-model/describe-environment.js";
import { resync } from "../../src/github/resync.js";
import { Lifecycle } from "../../src/lifecycle/api.js";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { openSqliteStore, type SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type Fault, type FakeGitHub, type FakePull, type FakeRepo } from "../helpers/fake-github.js";

// Resync against the fake GitHub API through Probot's own Octokit, with a real
// (SQLite) store holding environments as webhooks left them: intents in the
// inbox, never reconciled (status "new").

const credentials = testAppCredentials();
const INSTALLATION = 77;
/** Faults must surface at once: no retries, no throttling (the function form; see fake-github.test.ts). */
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } }));
const log = pino({ level: "silent" });
const sha = (char: string) => char.repeat(40);
const PULLS = "/repos/{owner}/{repo}/pulls";
const PULL = "/repos/{owner}/{repo}/pulls/{pull_number}";

let gh: FakeGitHub;
let repo: FakeRepo;
let probot: Probot;
let dataDir: string;
let store: SqliteStore;
let lifecycle: Lifecycle;

beforeEach(async () => {
  gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
  repo = gh.addRepo({ id: 123456, owner: "acme", name: "web", installationId: INSTALLATION });
  probot = new Probot({ appId: credentials.APP_ID, privateKey: credentials.PRIVATE_KEY, baseUrl: gh.baseUrl, Octokit, log });
  clients = installationClients(() => probot);
  dataDir = mkdtempSync(join(tmpdir(), "ephemera-resync-"));
  store = openSqliteStore({ dataDir, prefix: "ephemera:" });
  lifecycle = new Lifecycle({ store });
});

afterEach(async () => {
  expect(gh.unexpected).toEqual([]);
  await store.close();
  await gh.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let clients: InstallationClients;
const clientFor = (scope: RepositoryScope) => clients.forRepository(scope);
const run = (repoIds?: number[]) => resync({ store, lifecycle, clientFor, log, ...(repoIds && { repoIds }) });

/** A PR opened on GitHub and its `pull_request.opened` webhook recorded, as the handler records it. */
async function opened(target: FakeRepo, number: number, head = sha("a")): Promise<EnvKey> {
  const pull = gh.setPull(target, { number, head: { sha: head, ref: `feature-${number}` } });
  const key = { repoId: target.id, pr: number };
  const facts = { repo: target.fullName, installationId: target.installationId, headSha: head, headRef: pull.head.ref, fork: false, draft: false, labels: [] };
  await lifecycle.record(key, { type: "open", at: pull.updated_at, ...facts }, `webhook-${target.id}-${number}`);
  return key;
}

/** What changes while the app is stopped: no webhook reaches it. */
function closeOnGitHub(target: FakeRepo, number: number): FakePull {
  const { sha: headSha, ref } = target.pulls.get(number)!.head;
  return gh.setPull(target, { number, state: "closed", head: { sha: headSha, ref } });
}

const inbox = async (key: EnvKey) => (await store.load(key))?.inbox ?? [];
/** Requests other than minting installation tokens. */
const apiCalls = () => gh.requests.filter((request) => !request.path.endsWith("/access_tokens")).map((request) => `${request.method} ${request.path}`);

describe("resync", () => {
  it("tears down a PR closed while the app was stopped, from GitHub's word alone", async () => {
    const key = await opened(repo, 42);
    const pull = closeOnGitHub(repo, 42);

    const report = await run();

    expect(report).toEqual({ repositories: 1, checked: 1, renewed: 0, closed: 1, unknown: [] });
    expect((await inbox(key)).at(-1)).toEqual({ type: "close", at: pull.closed_at, reason: "closed" });
    expect((await describeEnvironment(store, key))?.desired?.open).toBe(false);
    expect(apiCalls()).toEqual(["GET /repos/acme/web/pulls", "GET /repos/acme/web/pulls/42"]);
    expect(gh.requestsMatching("GET", PULLS)[0]?.query).toMatchObject({ state: "open", per_page: "100" });
  });

  it("records a push missed while away, and nothing for a PR that did not move", async () => {
    const moved = await opened(repo, 42);
    const still = await opened(repo, 43);
    const pull = gh.setPull(repo, { number: 42, head: { sha: sha("b"), ref: "feature-42" } });

    const report = await run();

    expect(report).toMatchObject({ checked: 2, renewed: 1, closed: 0, unknown: [] });
    expect((await inbox(moved)).at(-1)).toMatchObject({ type: "push", at: pull.updated_at, headSha: sha("b"), repo: "acme/web", installationId: INSTALLATION });
    expect(await inbox(still)).toHaveLength(1);
    expect(apiCalls()).toEqual(["GET /repos/acme/web/pulls"]);
  });

  it.each<[string, Fault]>([
    ["a server error", 500],
    ["a rate limit", { rateLimit: "primary", resetInSeconds: 1 }],
    ["a dropped connection", "connection-reset"],
  ])("skips a repository whose list fails with %s, and goes on with the others", async (_, fault) => {
    const other = gh.addRepo({ id: 654321, owner: "acme", name: "api", installationId: 78 });
    const failing = await opened(repo, 42);
    closeOnGitHub(repo, 42);
    const closing = await opened(other, 7);
    closeOnGitHub(other, 7);
    gh.failNext("GET", "/repos/acme/web/pulls", fault);

    const report = await run();

    expect(report).toMatchObject({ repositories: 2, checked: 2, closed: 1 });
    expect(report.unknown).toEqual([{ repoId: 123456, repo: "acme/web", pr: 42, reason: expect.stringContaining("listing open pull requests failed") }]);
    expect(await inbox(failing)).toHaveLength(1);
    expect((await inbox(closing)).at(-1)).toMatchObject({ type: "close" });
  });

  it("leaves a repository alone when no installation token can be had", async () => {
    const key = await opened(repo, 42);
    closeOnGitHub(repo, 42);
    gh.failNext("POST", "/app/installations/{installation_id}/access_tokens", 500);

    const report = await run();

    expect(report.unknown).toEqual([expect.objectContaining({ pr: 42, reason: "listing open pull requests failed: HTTP 500" })]);
    expect(await inbox(key)).toHaveLength(1);
  });

  it("closes nothing on an empty list while the PRs are still open, asking for each instead", async () => {
    const keys = [await opened(repo, 1), await opened(repo, 2)];
    gh.failNext("GET", PULLS, { truncate: 0 });

    const report = await run();

    expect(report).toMatchObject({ checked: 2, renewed: 0, closed: 0, unknown: [] });
    for (const key of keys) expect(await inbox(key)).toHaveLength(1);
    expect(apiCalls()).toEqual(["GET /repos/acme/web/pulls", "GET /repos/acme/web/pulls/1", "GET /repos/acme/web/pulls/2"]);
  });

  it("closes nothing cut off a truncated page, and still closes what GitHub says is closed", async () => {
    const keys = await Promise.all([1, 2, 3, 4].map((number) => opened(repo, number)));
    closeOnGitHub(repo, 4);
    gh.failNext("GET", PULLS, { truncate: 1 }); // the list is newest first: #3 stays, #1 and #2 are cut off

    const report = await run();

    expect(report).toMatchObject({ checked: 4, closed: 1, unknown: [] });
    expect((await Promise.all(keys.map(inbox))).map((entries) => entries.at(-1)?.type)).toEqual(["open", "open", "open", "close"]);
    expect(gh.requestsMatching("GET", PULL).map((request) => request.path)).toEqual(["/repos/acme/web/pulls/1", "/repos/acme/web/pulls/2", "/repos/acme/web/pulls/4"]);
  });

  it.each<[string, Fault]>([
    ["500", 500],
    ["404", 404],
  ])("does not close a PR missing from the list when reading it answers %s", async (_, fault) => {
    const key = await opened(repo, 42);
    closeOnGitHub(repo, 42);
    gh.failNext("GET", PULL, fault);

    const report = await run();

    expect(report).toMatchObject({ closed: 0, unknown: [{ repoId: 123456, repo: "acme/web", pr: 42, reason: expect.stringContaining(`HTTP ${fault}`) }] });
    expect(await inbox(key)).toHaveLength(1);
  });

  it("records nothing twice when run again", async () => {
    const closed = await opened(repo, 42);
    closeOnGitHub(repo, 42);
    const pushed = await opened(repo, 43);
    gh.setPull(repo, { number: 43, head: { sha: sha("b"), ref: "feature-43" } });

    expect(await run()).toMatchObject({ checked: 2, closed: 1, renewed: 1 });
    expect(await run()).toMatchObject({ checked: 1, closed: 0, renewed: 0 }); // #43 is open, at the head now recorded
    expect(await inbox(closed)).toHaveLength(2);
    expect(await inbox(pushed)).toHaveLength(2);
  });

  it("records nothing twice when another replica read the same state before either recorded", async () => {
    const keys = [await opened(repo, 42), await opened(repo, 43)];
    closeOnGitHub(repo, 42);
    gh.setPull(repo, { number: 43, head: { sha: sha("b"), ref: "feature-43" } });
    const before = new Map(await Promise.all(keys.map(async (key) => [key.pr, await store.load(key)] as const)));
    // Both replicas see the states as they were before either resync recorded anything.
    const replica = () =>
      resync({
        store: { listKeys: (id) => store.listKeys(id), load: async (key) => before.get(key.pr) ?? null },
        lifecycle,
        clientFor,
        log,
      });

    expect(await replica()).toMatchObject({ closed: 1, renewed: 1 });
    expect(await replica()).toMatchObject({ closed: 0, renewed: 0, unknown: [] });
    for (const key of keys) expect(await inbox(key)).toHaveLength(2);
  });

  it("asks GitHub nothing about environments already on their way down", async () => {
    const key = await opened(repo, 42);
    await lifecycle.requestTeardown(key);

    expect(await run()).toEqual({ repositories: 0, checked: 0, renewed: 0, closed: 0, unknown: [] });
    expect(apiCalls()).toEqual([]);
  });

  describe("a repository known by its id, whatever its name", () => {
    /** acme/web renamed to acme/web-legacy, and a new acme/web made, whose PR #42 is closed. */
    function renameAndReuse(): FakeRepo {
      gh.renameRepo(repo, "web-legacy");
      const reused = gh.addRepo({ id: 777777, owner: "acme", name: "web", installationId: INSTALLATION });
      gh.setPull(reused, { number: 42, state: "closed", head: { sha: sha("f"), ref: "unrelated" } });
      return reused;
    }

    it("never tears down an environment for the PR of a new repository that took its old name", async () => {
      const key = await opened(repo, 42);
      renameAndReuse();

      const report = await run();

      expect(report).toMatchObject({ checked: 1, closed: 0, renewed: 0, unknown: [] });
      expect(await inbox(key)).toHaveLength(1);
      // Its own repository, found by id under its name of now, is the one read.
      expect(apiCalls()).toEqual(["GET /repos/acme/web/pulls", "GET /installation/repositories", "GET /repos/acme/web-legacy/pulls"]);
      expect(gh.requestsMatching("POST", "/app/installations/{installation_id}/access_tokens").map((request) => request.body)).toEqual([{ repository_ids: [123456] }]);
    });

    it("still tears down when its own repository, renamed, says the PR is closed", async () => {
      const key = await opened(repo, 42);
      closeOnGitHub(repo, 42);
      renameAndReuse();

      expect(await run()).toMatchObject({ closed: 1 });
      expect((await inbox(key)).at(-1)).toMatchObject({ type: "close" });
    });

    it("reports a pull request of another repository as drift, and acts on nothing", async () => {
      const key = await opened(repo, 42);
      const reused = renameAndReuse();
      // A client that reaches the whole installation, as an unscoped token would: the name leads to the new repository.
      const report = await resync({ store, lifecycle, clientFor: (scope) => probot.auth(scope.installationId), log });

      expect(report).toMatchObject({ closed: 0, renewed: 0 });
      expect(report.unknown).toEqual([{ repoId: 123456, repo: "acme/web", pr: 42, reason: `pull request #42 read from acme/web belongs to repository ${reused.id}, not 123456` }]);
      expect(await inbox(key)).toHaveLength(1);
    });
  });

  it("looks only at the repositories it is given", async () => {
    const other = gh.addRepo({ id: 654321, owner: "acme", name: "api", installationId: 78 });
    await opened(repo, 42);
    closeOnGitHub(repo, 42);
    await opened(other, 7);

    expect(await run([other.id])).toMatchObject({ repositories: 1, checked: 1, closed: 0 });
    expect(apiCalls()).toEqual(["GET /repos/acme/api/pulls"]);
  });
});
