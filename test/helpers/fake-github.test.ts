import { generateKeyPairSync } from "node:crypto";
import pino from "pino";
import { Context, createProbot, Probot, ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { testAppCredentials } from "./app-credentials.js";
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from "./fake-github.js";

// These tests drive the fake with the real clients Ephemera uses: Probot's
// Octokit (installation and App auth, paginate, the config plugin), so a
// shape or header the clients dislike fails here rather than in an e2e test.

const INSTALLATION = 77;
const credentials = testAppCredentials();
/**
 * Retries and throttling off: a fault must surface at once, and writes must not
 * be spaced seconds apart. It takes the function form: with the object form
 * `ProbotOctokit.defaults({ throttle: { enabled: false } })`, Probot's own
 * throttle options are merged in after ours and throttling stays on (three
 * comments take 6 s, a rate-limit 403 is waited out and retried).
 */
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } }));

let gh: FakeGitHub;
let repo: FakeRepo;
let probot: Probot;

function probotFor(baseUrl: string, privateKey = credentials.PRIVATE_KEY) {
  return new Probot({ appId: credentials.APP_ID, privateKey, baseUrl, Octokit, log: pino({ level: "silent" }) });
}

const installationOctokit = () => probot.auth(INSTALLATION);
const appOctokit = () => probot.auth();
/** A token for raw `fetch` calls. (Through Octokit, a 401 on a token younger than 5 s is retried for 6 s by @octokit/auth-app.) */
const mintToken = async () => (await (await appOctokit()).rest.apps.createInstallationAccessToken({ installation_id: INSTALLATION })).data;

beforeEach(async () => {
  gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
  repo = gh.addRepo({ id: 123456, owner: "acme", name: "web", installationId: INSTALLATION });
  gh.setPull(repo, { number: 42, head: { sha: "a".repeat(40), ref: "feature" } });
  // Probot's `baseUrl` is the API root itself, /api/v3 included (createProbot appends it to GHE_HOST).
  probot = probotFor(gh.baseUrl);
});

afterEach(async () => {
  await gh.close();
});

describe("authentication", () => {
  it("issues an installation token to Probot and records who called", async () => {
    const octokit = await installationOctokit();
    await octokit.rest.repos.get({ owner: "acme", repo: "web" });

    const [tokenRequest, repoRequest] = gh.requests;
    expect(tokenRequest).toMatchObject({ method: "POST", path: `/app/installations/${INSTALLATION}/access_tokens`, auth: "app", status: 201 });
    expect(repoRequest).toMatchObject({ method: "GET", path: "/repos/acme/web", route: "/repos/{owner}/{repo}", auth: "installation", installationId: INSTALLATION, status: 200 });
  });

  it("works through GHE_HOST/GHE_PROTOCOL as the real server is configured", async () => {
    const env = { ...gh.env, APP_ID: credentials.APP_ID, PRIVATE_KEY: credentials.PRIVATE_KEY };
    const fromEnv = createProbot({ env, overrides: { Octokit, log: pino({ level: "silent" }) } });
    const octokit = await fromEnv.auth(INSTALLATION);
    const { data } = await octokit.rest.repos.get({ owner: "acme", repo: "web" });
    expect(data).toMatchObject({ id: 123456, full_name: "acme/web", default_branch: "main" });
  });

  it("misses the API when Probot's baseUrl lacks /api/v3", async () => {
    const wrong = probotFor(gh.baseUrl.replace(/\/api\/v3$/, ""));
    await expect(wrong.auth(INSTALLATION).then((octokit) => octokit.rest.repos.get({ owner: "acme", repo: "web" }))).rejects.toMatchObject({ status: 404 });
    expect(gh.unexpected[0]).toMatchObject({ method: "POST", path: `/app/installations/${INSTALLATION}/access_tokens` });
  });

  it("refuses a JWT signed by another key, anonymous calls, and another installation's repositories", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const impostor = probotFor(gh.baseUrl, privateKey.export({ type: "pkcs1", format: "pem" }).toString());
    await expect((await impostor.auth()).request("GET /app")).rejects.toMatchObject({ status: 401 });
    expect(gh.requests.at(-1)).toMatchObject({ auth: "invalid", status: 401 });

    await expect(fetch(`${gh.baseUrl}/repos/acme/web`).then((response) => response.status)).resolves.toBe(401);

    gh.addRepo({ owner: "other", name: "repo", installationId: 99 });
    const octokit = await installationOctokit();
    await expect(octokit.rest.repos.get({ owner: "other", repo: "repo" })).rejects.toMatchObject({ status: 404 });
  });

  it("answers 401 to revoked tokens", async () => {
    const { token } = await mintToken();
    const get = () => fetch(`${gh.baseUrl}/repos/acme/web`, { headers: { authorization: `token ${token}` } }).then((response) => response.status);
    expect(await get()).toBe(200);
    gh.revokeTokens();
    expect(await get()).toBe(401);
  });

  it("refuses an installation token on App endpoints", async () => {
    const { token } = await mintToken();
    const response = await fetch(`${gh.baseUrl}/app/hook/deliveries`, { headers: { authorization: `token ${token}` } });
    expect(response.status).toBe(401);
  });
});

describe("issue comments and reactions", () => {
  it("creates, edits, reads and deletes the App's comment", async () => {
    const octokit = await installationOctokit();
    const created = await octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 42, body: "<!-- ephemera:env:pr-42 --> pending" });
    expect(created.status).toBe(201);
    expect(created.data.user).toMatchObject({ login: "ephemera[bot]", type: "Bot", id: gh.bot.id });
    expect(created.data.performed_via_github_app).toMatchObject({ id: Number(credentials.APP_ID), slug: "ephemera" });
    const { data: bot } = await octokit.rest.users.getByUsername({ username: "ephemera[bot]" });
    expect(bot).toMatchObject({ id: gh.bot.id, type: "Bot" });

    const edited = await octokit.rest.issues.updateComment({ owner: "acme", repo: "web", comment_id: created.data.id, body: "<!-- ephemera:env:pr-42 --> ready" });
    expect(edited.data.body).toBe("<!-- ephemera:env:pr-42 --> ready");
    expect(gh.commentsOn(repo, 42).map((comment) => comment.body)).toEqual(["<!-- ephemera:env:pr-42 --> ready"]);
    expect(gh.requestsMatching("PATCH", "/repos/acme/web/issues/comments/{comment_id}")[0]?.body).toEqual({ body: "<!-- ephemera:env:pr-42 --> ready" });

    await octokit.rest.issues.deleteComment({ owner: "acme", repo: "web", comment_id: created.data.id });
    await expect(octokit.rest.issues.getComment({ owner: "acme", repo: "web", comment_id: created.data.id })).rejects.toMatchObject({ status: 404 });
    expect(gh.commentsOn(repo, 42)).toEqual([]);
    expect(gh.state.comments[0]?.deleted).toBe(true);
  });

  it("lists comments page by page with a link header", async () => {
    for (let index = 0; index < 5; index++) gh.addComment(repo, 42, { body: `human ${index}`, user: "alice" });
    const octokit = await installationOctokit();
    await octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 42, body: "bot" });

    const all = await octokit.paginate(octokit.rest.issues.listComments, { owner: "acme", repo: "web", issue_number: 42, per_page: 2 });
    expect(all.map((comment) => comment.body)).toEqual(["human 0", "human 1", "human 2", "human 3", "human 4", "bot"]);
    expect(all[0]?.user).toMatchObject({ login: "alice", type: "User" });
    const pages = gh.requestsMatching("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments");
    expect(pages.map((request) => request.query.page ?? "1")).toEqual(["1", "2", "3"]);
  });

  it("404s comments on a pull request that does not exist", async () => {
    const octokit = await installationOctokit();
    await expect(octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 7, body: "x" })).rejects.toMatchObject({ status: 404 });
  });

  it("reacts with 201, and 200 when the same reaction exists", async () => {
    const command = gh.addComment(repo, 42, { body: "/preview extend 2h", user: "alice" });
    const octokit = await installationOctokit();
    const params = { owner: "acme", repo: "web", comment_id: command.id, content: "+1" } as const;
    expect((await octokit.rest.reactions.createForIssueComment(params)).status).toBe(201);
    expect((await octokit.rest.reactions.createForIssueComment(params)).status).toBe(200);
    await expect(octokit.rest.reactions.createForIssueComment({ ...params, content: "thumbs" as "+1" })).rejects.toMatchObject({ status: 422 });
    expect(gh.takeInvalid().map((request) => request.openapi?.problems)).toEqual([[expect.stringMatching(/^body\.content must be equal to one of the allowed values/)]]);
    expect(gh.state.reactionsOn(command.id)).toEqual([expect.objectContaining({ content: "+1", user: gh.bot })]);
    const { data } = await octokit.rest.issues.getComment({ owner: "acme", repo: "web", comment_id: command.id });
    expect(data.reactions).toMatchObject({ total_count: 1, "+1": 1 });
  });
});

describe("deployments", () => {
  it("records every field, filters the list and keeps statuses newest first", async () => {
    const octokit = await installationOctokit();
    const sha = "a".repeat(40);
    const fields = { ref: sha, environment: "preview/pr-42", transient_environment: true, production_environment: false, auto_merge: false, required_contexts: [], payload: { pr: 42 }, description: "PR #42" };
    const { status, data: deployment } = await octokit.rest.repos.createDeployment({ owner: "acme", repo: "web", ...fields });
    expect(status).toBe(201);
    expect(deployment).toMatchObject({ sha, ref: sha, environment: "preview/pr-42", transient_environment: true, production_environment: false, creator: { login: "ephemera[bot]" } });
    expect(gh.deploymentsOf(repo, "preview/pr-42")[0]?.request).toEqual(fields);
    if (!("id" in deployment)) throw new Error("expected a deployment");

    await octokit.rest.repos.createDeployment({ owner: "acme", repo: "web", ref: "main", environment: "staging", required_contexts: [] });
    const listed = await octokit.rest.repos.listDeployments({ owner: "acme", repo: "web", environment: "preview/pr-42", sha });
    expect(listed.data.map((entry) => entry.id)).toEqual([deployment.id]);

    const statuses = { owner: "acme", repo: "web", deployment_id: deployment.id };
    await octokit.rest.repos.createDeploymentStatus({ ...statuses, state: "in_progress" });
    await octokit.rest.repos.createDeploymentStatus({ ...statuses, state: "success", environment_url: "https://pr-42.preview.test" });
    const { data: listedStatuses } = await octokit.rest.repos.listDeploymentStatuses(statuses);
    expect(listedStatuses.map((entry) => [entry.state, entry.environment_url])).toEqual([
      ["success", "https://pr-42.preview.test"],
      ["in_progress", ""],
    ]);
    await expect(octokit.rest.repos.createDeploymentStatus({ ...statuses, state: "done" as "success" })).rejects.toMatchObject({ status: 422 });
    expect(gh.takeInvalid().map((request) => request.openapi?.problems)).toEqual([[expect.stringMatching(/^body\.state must be equal to one of the allowed values/)]]);
  });

  it("deactivates earlier non-transient deployments on success, as GitHub's auto_inactive does", async () => {
    const octokit = await installationOctokit();
    const deploy = async (transient: boolean) => {
      const { data } = await octokit.rest.repos.createDeployment({ owner: "acme", repo: "web", ref: "main", environment: "qa", transient_environment: transient, required_contexts: [] });
      if (!("id" in data)) throw new Error("expected a deployment");
      await octokit.rest.repos.createDeploymentStatus({ owner: "acme", repo: "web", deployment_id: data.id, state: "success" });
      return gh.state.deployments.find((entry) => entry.id === data.id)!;
    };
    const [transient, lasting] = [await deploy(true), await deploy(false)];
    await deploy(false);
    expect(transient.statuses.map((entry) => entry.state)).toEqual(["success"]);
    expect(lasting.statuses.map((entry) => [entry.state, entry.automatic])).toEqual([
      ["success", false],
      ["inactive", true],
    ]);
  });
});

describe("permissions, repositories and pull requests", () => {
  it("maps roles to GitHub's coarse permission and 404s unknown users", async () => {
    gh.setPermission(repo, "maya", "maintain");
    gh.setPermission(repo, "tom", "triage");
    gh.setPermission(repo, "nobody", "none");
    const octokit = await installationOctokit();
    const level = async (username: string) => (await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: "acme", repo: "web", username })).data;
    expect(await level("maya")).toMatchObject({ permission: "write", role_name: "maintain", user: { login: "maya", permissions: { push: true, admin: false } } });
    expect(await level("tom")).toMatchObject({ permission: "read", role_name: "triage" });
    expect(await level("nobody")).toMatchObject({ permission: "none" });
    await expect(level("stranger")).rejects.toMatchObject({ status: 404 });
  });

  it("lists open pull requests 100 at a time and reads one", async () => {
    for (let number = 1; number <= 130; number++) {
      gh.setPull(repo, { number: 1000 + number, state: number % 10 === 0 ? "closed" : "open", head: { sha: number.toString(16).padStart(40, "0"), ref: `b${number}` } });
    }
    gh.setPull(repo, { number: 7, head: { sha: "f".repeat(40), ref: "patch", repo: "forker/web" }, draft: true, labels: ["preview"] });
    gh.setPull(repo, { number: 8, merged: true, head: { sha: "e".repeat(40), ref: "done" } });
    const octokit = await installationOctokit();

    const open = await octokit.paginate(octokit.rest.pulls.list, { owner: "acme", repo: "web", state: "open", per_page: 100 });
    expect(open).toHaveLength(117 + 2);
    expect(open.every((pull) => pull.state === "open")).toBe(true);
    expect(gh.count("GET", "/repos/acme/web/pulls")).toBe(2);

    const { data: fork } = await octokit.rest.pulls.get({ owner: "acme", repo: "web", pull_number: 7 });
    expect(fork).toMatchObject({ draft: true, merged: false, labels: [{ name: "preview" }], head: { sha: "f".repeat(40), ref: "patch", repo: { full_name: "forker/web", fork: true } }, base: { ref: "main", repo: { id: 123456 } } });
    const { data: merged } = await octokit.rest.pulls.get({ owner: "acme", repo: "web", pull_number: 8 });
    expect(merged).toMatchObject({ state: "closed", merged: true });
    expect(merged.merged_at).not.toBeNull();
  });

  it("finds a repository by id and an installation by repository", async () => {
    const octokit = await installationOctokit();
    const byId = await octokit.request("GET /repositories/{repository_id}", { repository_id: 123456 });
    expect(byId.data).toMatchObject({ full_name: "acme/web", default_branch: "main" });
    const app = await appOctokit();
    const { data } = await app.rest.apps.getRepoInstallation({ owner: "acme", repo: "web" });
    expect(data).toMatchObject({ id: INSTALLATION, account: { login: "acme" }, app_slug: "ephemera" });
    const repos = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation);
    expect(repos.map((entry) => entry.full_name)).toEqual(["acme/web"]);
  });
});

describe("contents and Probot's config plugin", () => {
  it("serves .github/ephemera.yml raw to context.config and as base64 JSON otherwise", async () => {
    gh.setFile(repo, ".github/ephemera.yml", "template: default\nttl: 4h\n");
    const octokit = await installationOctokit();
    const { config } = await octokit.config.get({ owner: "acme", repo: "web", path: ".github/ephemera.yml" });
    expect(config).toEqual({ template: "default", ttl: "4h" });
    const [read] = gh.requestsMatching("GET", "/repos/{owner}/{repo}/contents/{path}");
    expect(read).toMatchObject({ path: "/repos/acme/web/contents/.github/ephemera.yml", accept: "application/vnd.github.v3.raw", query: {} });

    const { data } = await octokit.rest.repos.getContent({ owner: "acme", repo: "web", path: ".github/ephemera.yml" });
    if (Array.isArray(data) || data.type !== "file") throw new Error("expected a file");
    expect(Buffer.from(data.content, "base64").toString()).toBe("template: default\nttl: 4h\n");
    const { data: listing } = await octokit.rest.repos.getContent({ owner: "acme", repo: "web", path: ".github" });
    expect(listing).toEqual([expect.objectContaining({ type: "file", name: "ephemera.yml" })]);
  });

  it("falls back to the owner's .github repository, as context.config does", async () => {
    const octokit = await installationOctokit();
    const context = new Context({ id: "1", name: "pull_request", payload: { repository: { owner: { login: "acme" }, name: "web" } } } as never, octokit, pino({ level: "silent" }));
    expect(await context.config("ephemera.yml")).toBeNull();
    expect(gh.requestsMatching("GET", "*/contents/*").map((request) => [request.path, request.status])).toEqual([
      ["/repos/acme/web/contents/.github/ephemera.yml", 404],
      ["/repos/acme/.github/contents/.github/ephemera.yml", 404],
    ]);

    const shared = gh.addRepo({ owner: "acme", name: ".github", installationId: INSTALLATION });
    gh.setFile(shared, ".github/ephemera.yml", "template: shared\n");
    expect(await context.config("ephemera.yml")).toEqual({ template: "shared" });
    expect(gh.unexpected).toEqual([]);
  });

  it("reads the default branch only", async () => {
    gh.setFile(repo, ".github/ephemera.yml", "template: default\n");
    const octokit = await installationOctokit();
    await expect(octokit.rest.repos.getContent({ owner: "acme", repo: "web", path: ".github/ephemera.yml", ref: "feature" })).rejects.toMatchObject({ status: 404 });
    await expect(octokit.rest.repos.getContent({ owner: "acme", repo: "web", path: ".github/ephemera.yml", ref: "main" })).resolves.toMatchObject({ status: 200 });
  });
});

describe("webhook deliveries", () => {
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);

  it("lists deliveries newest first with cursor pagination, and redelivers with App auth", async () => {
    for (let index = 0; index < 5; index++) {
      gh.addDelivery({ id: 500 + index, status: index === 1 ? "Invalid HTTP Response: 500" : "OK", event: "pull_request", action: "opened", delivered_at: at(10 - index), installation_id: INSTALLATION, repository_id: 123456 });
    }
    const app = await appOctokit();
    const deliveries = await app.paginate("GET /app/hook/deliveries", { per_page: 2 });
    expect(deliveries.map((delivery) => delivery.id)).toEqual([504, 503, 502, 501, 500]);
    expect(deliveries[3]).toMatchObject({ status: "Invalid HTTP Response: 500", status_code: 500, redelivery: false, event: "pull_request", action: "opened" });
    const listed = gh.requestsMatching("GET", "/app/hook/deliveries");
    expect(listed.map((request) => [request.auth, request.query.cursor])).toEqual([
      ["app", undefined],
      ["app", "v1_502"],
      ["app", "v1_500"],
    ]);

    const failed = deliveries[3]!;
    const redelivery = await app.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: failed.id });
    expect(redelivery.status).toBe(202);
    expect(gh.state.redeliveryAttempts).toEqual([expect.objectContaining({ deliveryId: 501, guid: failed.guid })]);
    await gh.settled();
    const { data: after } = await app.request("GET /app/hook/deliveries");
    expect(after[0]).toMatchObject({ guid: failed.guid, redelivery: true, status: "OK" });
  });

  it("reports the app's answer through onRedeliver and refuses deliveries older than 3 days", async () => {
    const answered: string[] = [];
    const withHook = await startFakeGitHub({ appId: credentials.APP_ID, onRedeliver: (delivery) => (answered.push(delivery.guid), 500) });
    try {
      const old = withHook.addDelivery({ event: "pull_request", status: "Invalid HTTP Response: 502", delivered_at: at(4 * 24 * 60) });
      const recent = withHook.addDelivery({ event: "pull_request", status: "Invalid HTTP Response: 502", payload: { action: "closed" } });
      const app = await probotFor(withHook.baseUrl).auth();
      await expect(app.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: old.id })).rejects.toMatchObject({ status: 422 });
      await app.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: recent.id });
      await withHook.settled();
      expect(answered).toEqual([recent.guid]);
      expect(withHook.state.deliveries.at(-1)).toMatchObject({ guid: recent.guid, redelivery: true, status: "Invalid HTTP Response: 500", status_code: 500, payload: { action: "closed" } });
    } finally {
      await withHook.close();
    }
  });
});

describe("faults, rate limits and unexpected calls", () => {
  it("injects a status for the next matching requests only", async () => {
    const octokit = await installationOctokit();
    gh.failNext("GET", "/repos/{owner}/{repo}/pulls", 500, 2);
    const list = () => octokit.rest.pulls.list({ owner: "acme", repo: "web" });
    await expect(list()).rejects.toMatchObject({ status: 500 });
    await expect(list()).rejects.toMatchObject({ status: 500 });
    await expect(list()).resolves.toMatchObject({ status: 200 });
    expect(gh.requestsMatching("GET", "/repos/acme/web/pulls").map((request) => [request.status, request.fault])).toEqual([
      [500, 500],
      [500, 500],
      [200, undefined],
    ]);
  });

  it("injects rate limits, truncated lists and dropped connections", async () => {
    for (let number = 1; number <= 5; number++) gh.setPull(repo, { number, head: { sha: String(number).repeat(40), ref: `b${number}` } });
    const octokit = await installationOctokit();
    const list = () => octokit.rest.pulls.list({ owner: "acme", repo: "web", per_page: 2 });

    gh.failNext("GET", "/repos/acme/web/pulls", { rateLimit: "primary", resetInSeconds: 30 });
    const limited = await list().catch((error: { status: number; response: { headers: Record<string, string> } }) => error);
    expect(limited).toMatchObject({ status: 403, response: { headers: { "x-ratelimit-remaining": "0" } } });

    gh.failNext("GET", "/repos/acme/web/pulls", { truncate: 1 });
    const truncated = await list();
    expect(truncated.data).toHaveLength(1);
    expect(truncated.headers.link).toBeUndefined();

    gh.failNext("GET", "/repos/acme/web/pulls", { truncate: 0 });
    expect((await list()).data).toEqual([]);

    gh.failNext("GET", "/repos/acme/web/pulls", "connection-reset");
    await expect(list()).rejects.toMatchObject({ status: 500 });
    expect(gh.requests.at(-1)).toMatchObject({ status: 0, fault: "connection-reset" });
  });

  it("sends rate-limit headers per installation and enforces a spent limit", async () => {
    const octokit = await installationOctokit();
    const first = await octokit.rest.repos.get({ owner: "acme", repo: "web" });
    const second = await octokit.rest.repos.get({ owner: "acme", repo: "web" });
    expect(Number(second.headers["x-ratelimit-remaining"])).toBe(Number(first.headers["x-ratelimit-remaining"]) - 1);
    expect(first.headers["x-ratelimit-limit"]).toBe("5000");
    const { data } = await octokit.rest.rateLimit.get();
    expect(data.resources.core.remaining).toBe(4998);

    gh.setRateLimitRemaining(INSTALLATION, 0);
    await expect(octokit.rest.repos.get({ owner: "acme", repo: "web" })).rejects.toMatchObject({ status: 403 });
  });

  it("answers unknown endpoints 404 and lists them as unexpected", async () => {
    const octokit = await installationOctokit();
    await expect(octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", { owner: "acme", repo: "web", issue_number: 42, labels: ["x"] })).rejects.toMatchObject({
      status: 404,
    });
    expect(gh.unexpected).toEqual([expect.objectContaining({ method: "POST", path: "/repos/acme/web/issues/42/labels", body: { labels: ["x"] }, status: 404 })]);
    expect(gh.count("*", "/repos/acme/web/*")).toBe(1);
    expect(gh.count("POST", /labels$/)).toBe(1);
  });

  it("keeps requests invalid against GitHub's OpenAPI description and fails close() naming each problem", async () => {
    const octokit = await installationOctokit();
    const sha = "a".repeat(40);
    await octokit.request("POST /repos/{owner}/{repo}/deployments", { owner: "acme", repo: "web", ref: sha, auto_merg: false, required_contexts: [] });
    await octokit.request("GET /repos/{owner}/{repo}/pulls", { owner: "acme", repo: "web", state: "merged" as "all" });

    // Answered as usual: the product's flow goes on, and the test fails at teardown instead.
    expect(gh.requests.slice(-2).map((request) => request.status)).toEqual([201, 200]);
    expect(gh.invalid.map(({ method, path, openapi }) => [method, path, openapi?.operation?.operationId])).toEqual([
      ["POST", "/repos/acme/web/deployments", "repos/create-deployment"],
      ["GET", "/repos/acme/web/pulls", "pulls/list"],
    ]);
    const closing = gh.close();
    await expect(closing).rejects.toThrow(/POST \/repos\/acme\/web\/deployments \(repos\/create-deployment, .*\):\n  - body\.auto_merg is not a field GitHub documents here/);
    await expect(closing).rejects.toThrow(/GET \/repos\/acme\/web\/pulls\?state=merged \(pulls\/list, .*\):\n  - query\.state must be equal/);
    // afterEach closes again: the server is gone already and nothing is left to report.
    gh.takeInvalid();
    gh = await startFakeGitHub({ appId: credentials.APP_ID });
  });
});
