import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { installationClients, type InstallationClients } from "../../src/github/installation-clients.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";

// Clients for an environment's repository reach that repository alone, by its
// id: after a rename and a new repository with the old name, a write sent to
// the old name is refused instead of landing on the new repository.

const credentials = testAppCredentials();
const INSTALLATION = 77;
const OLD = 123456;
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } }));

let gh: FakeGitHub;
let clients: InstallationClients;

beforeEach(async () => {
  gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
  gh.addRepo({ id: OLD, owner: "acme", name: "web", installationId: INSTALLATION });
  gh.setPull("acme/web", { number: 42, head: { sha: "a".repeat(40), ref: "feature" } });
  const probot = new Probot({ appId: credentials.APP_ID, privateKey: credentials.PRIVATE_KEY, baseUrl: gh.baseUrl, Octokit, log: pino({ level: "silent" }) });
  clients = installationClients(() => probot);
});

afterEach(async () => {
  expect(gh.unexpected).toEqual([]);
  await gh.close();
});

/** acme/web becomes acme/web-legacy, and a new acme/web (with its own PR #42) takes the name. */
function renameAndReuse() {
  gh.renameRepo("acme/web", "web-legacy");
  gh.addRepo({ id: 777777, owner: "acme", name: "web", installationId: INSTALLATION });
  gh.setPull("acme/web", { number: 42, head: { sha: "b".repeat(40), ref: "other" } });
}

const commentOnOldName = (octokit: Awaited<ReturnType<InstallationClients["forRepository"]>>) =>
  octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 42, body: "about the old environment" });

describe("repository-scoped clients", () => {
  it("refuse a write that a reused name sends to another repository", async () => {
    renameAndReuse();
    const scoped = await clients.forRepository({ installationId: INSTALLATION, repoId: OLD });

    await expect(commentOnOldName(scoped)).rejects.toMatchObject({ status: 404 });
    expect(gh.commentsOn("acme/web", 42)).toEqual([]);
    expect(gh.requestsMatching("POST", "/app/installations/{installation_id}/access_tokens").map((request) => request.body)).toEqual([{ repository_ids: [OLD] }]);
  });

  it("where an installation-wide client would have written there", async () => {
    renameAndReuse();
    await commentOnOldName(await clients.forInstallation(INSTALLATION));
    expect(gh.commentsOn("acme/web", 42)).toHaveLength(1);
  });

  it("reach their repository under its name of now, and reuse one token until it nears expiry", async () => {
    gh.renameRepo("acme/web", "web-legacy");
    for (let i = 0; i < 2; i += 1) {
      const scoped = await clients.forRepository({ installationId: INSTALLATION, repoId: OLD });
      await scoped.rest.issues.createComment({ owner: "acme", repo: "web-legacy", issue_number: 42, body: `note ${i}` });
    }
    expect(gh.commentsOn("acme/web-legacy", 42)).toHaveLength(2);
    expect(gh.count("POST", "/app/installations/{installation_id}/access_tokens")).toBe(1);
  });
});
