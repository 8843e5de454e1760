import { chmodSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { STORE_PROTOCOL } from "../../src/lifecycle/replicas.js";
import { markRegistry } from "../../src/replica-membership.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from "../helpers/fake-github.js";
import { openIntent } from "../lifecycle/harness.js";
import { makeWorld, SECRET_KEY, type World } from "../lifecycle/world.js";
import { runCliProcess, tempDir, writeOperatorConfig } from "./cli-harness.js";

// The commands that talk to GitHub as the App, as child processes against the
// fake GitHub API (reached through GHE_HOST, as the server reaches it), on
// environments the lifecycle engine made in the embedded store.

const credentials = testAppCredentials();
const INSTALLATION = 77;
const CONFIG = { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [{ name: "deploy", run: "./step.sh deploy", env: { URL: "https://pr.preview.test" } }] } } };
const sha = (char: string) => char.repeat(40);

let gh: FakeGitHub;
let repo: FakeRepo;
let world: World;
let data: ReturnType<typeof tempDir>;
let env: Record<string, string>;

const cli = (args: string[], variables = env) => runCliProcess(args, variables, world.ws.dir);
const inbox = async (key: EnvKey) => (await world.store.load(key))?.inbox.map((intent) => intent.type) ?? [];

beforeAll(async () => {
  gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
  repo = gh.addRepo({ id: 123456, owner: "acme", name: "web", installationId: INSTALLATION });
  data = tempDir("ephemera-cli-github-");
  world = await makeWorld({ config: CONFIG, store: openSqliteStore({ dataDir: data.path, prefix: "ephemera:" }) });
  for (const pr of [42, 43]) {
    const pull = gh.setPull(repo, { number: pr, head: { sha: sha("a"), ref: `feature-${pr}` } });
    await world.lifecycle.record({ repoId: repo.id, pr }, openIntent(pull.head.sha, { repo: "acme/web", installationId: INSTALLATION, headRef: pull.head.ref }, pull.updated_at));
  }
  await world.reconciler.runDue();
  // The world's engine is this release's, which registers its replicas: the CLI needs no takeover here.
  await markRegistry(world.store, { protocol: STORE_PROTOCOL, startedAt: new Date().toISOString() });
  // As root the CLI's extend opens the step sandbox as the server does: step uids must be able to enter the config's directory and ./workdirs.
  chmodSync(world.ws.dir, 0o711);
  env = {
    ...gh.env,
    APP_ID: credentials.APP_ID,
    PRIVATE_KEY: credentials.PRIVATE_KEY,
    WEBHOOK_SECRET: SECRET_KEY,
    EPHEMERA_DATA_DIR: data.path,
    EPHEMERA_CONFIG: writeOperatorConfig(world.ws.dir, CONFIG),
  };
});

afterAll(async () => {
  await world.dispose();
  await gh.close();
  data.dispose();
});

beforeEach(() => {
  gh.clearRequests();
});

describe("the CLI with the App's credentials", () => {
  it("extends an environment and shows the new expiry on the PR, as the server would", async () => {
    const result = await cli(["extend", "acme/web", "42", "1h"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const expiresAt = (await world.store.load({ repoId: repo.id, pr: 42 }))?.fields.expires_at ?? "";
    expect(result.stdout).toMatch(new RegExp(`^acme/web#42 expires ${expiresAt} \\(in (4h 59m|5h)\\)\\n$`));
    const [comment, ...more] = gh.commentsOn(repo, 42);
    expect(more).toEqual([]);
    expect(comment?.body).toContain("<!-- ephemera:env:pr-42 -->");
    expect(comment?.body).toContain(`**Expires:** ${expiresAt.slice(0, 10)} ${expiresAt.slice(11, 16)} UTC`);
    // The repository's settings are read as the server reads them, and the PR shown as the server shows it.
    expect(gh.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /app",
      // A token for the repository's id alone reads its file; the installation's own reads the owner's `.github`.
      `POST /app/installations/${INSTALLATION}/access_tokens`,
      "GET /repos/acme/web/contents/.github/ephemera.yml",
      `POST /app/installations/${INSTALLATION}/access_tokens`,
      "GET /repos/acme/.github/contents/.github/ephemera.yml",
      "GET /repos/acme/web/issues/42/comments",
      "POST /repos/acme/web/issues/42/comments",
      "GET /repos/acme/web/deployments",
      "POST /repos/acme/web/deployments",
      expect.stringMatching(/^POST \/repos\/acme\/web\/deployments\/\d+\/statuses$/),
    ]);
    expect(gh.unexpected).toEqual([]);
  });

  it("resyncs with GitHub: a PR closed there is recorded for teardown, the others left alone", async () => {
    gh.setPull(repo, { number: 43, state: "closed", head: { sha: sha("a"), ref: "feature-43" } });

    const result = await cli(["resync"]);

    expect(result).toMatchObject({ code: 0, stdout: "resync: 1 repositories, 2 environments compared with GitHub: 0 renewed, 1 closed, 0 unknown\n" });
    expect(result.stderr).toContain("applied by a running Ephemera, or by `ephemera gc`");
    expect((await inbox({ repoId: repo.id, pr: 43 })).at(-1)).toBe("close");
    expect(gh.requestsMatching("GET", "/repos/{owner}/{repo}/pulls").map((request) => request.path)).toEqual(["/repos/acme/web/pulls"]);
    expect(gh.unexpected).toEqual([]);
  });

  it("lists what GitHub could not answer for, and exits 1", async () => {
    gh.failNext("GET", "/repos/{owner}/{repo}/pulls", 403);

    const result = await cli(["resync", "--repo", "acme/web"]);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain("resync: 1 repositories, 1 environments compared with GitHub: 0 renewed, 0 closed, 1 unknown\n");
    expect(result.stdout).toContain("  unknown  acme/web#42  listing open pull requests failed: HTTP 403");
  });

  it("says what it needs: the App's credentials, a repository it knows", async () => {
    const { APP_ID: _, ...withoutApp } = env;
    const [noApp, unknownRepo] = await Promise.all([cli(["resync"], withoutApp), cli(["resync", "--repo", "acme/nope"])]);
    expect(noApp).toMatchObject({ code: 1, stderr: "ephemera: APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) are required: `resync` talks to GitHub as the App\n" });
    expect(unknownRepo).toMatchObject({ code: 1, stderr: "ephemera resync: no environment in the store belongs to a repository named acme/nope (known: acme/web)\n" });
    expect(gh.requests).toEqual([]);
  });
});
