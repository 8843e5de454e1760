import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeDeployment, type FakeGitHub, type RecordedRequest } from "../helpers/fake-github.js";
import { startInProcessApp, type InProcessApp } from "../helpers/in-process-app.js";
import { prCommentEvent, pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { DEPLOY_STEP, sha } from "./surface-world.js";

/**
 * A PR's whole life (open, three pushes, extend, close) through real webhook
 * payloads, with the fake GitHub API at the boundary (nothing else reachable)
 * and a real Redis behind, and every GitHub request asserted: which, how
 * many, in what order, per event. Each phase ends once GitHub shows its
 * outcome; at the end the app stops, which lets every update still queued
 * go out first, so a request that came late would be seen.
 */

const credentials = testAppCredentials();
const scenario: PrScenario = { repoId: 6701, owner: "octo", name: "shop", installationId: 77, pr: 42 };
const key = { repoId: scenario.repoId, pr: scenario.pr };
const REPO = "octo/shop";
const HOUR = 3_600_000;

/**
 * A request as the expectations spell it: its path, with the ids GitHub
 * assigned (comments, deployments) and the file read shown as the route's
 * parameter names.
 */
function spelled({ method, path, route = "" }: RecordedRequest): string {
  const pathParts = path.split("/");
  const shown: string[] = [];
  for (const [index, part] of route.split("/").entries()) {
    shown.push(["{comment_id}", "{deployment_id}", "{path}"].includes(part) ? part : (pathParts[index] ?? ""));
    if (part === "{path}") break;
  }
  return `${method} ${shown.join("/")}`;
}

/** Requests per route, spelled as above, with their count, in first-seen order. */
function countsByRoute(requests: readonly RecordedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) counts[spelled(request)] = (counts[spelled(request)] ?? 0) + 1;
  return counts;
}

describe("a PR's whole life, request by request", () => {
  let gh: FakeGitHub;
  let redis: PrivateRedis;
  let app: InProcessApp;
  let stopped = false;
  const phases: Array<[string, RecordedRequest[]]> = [];
  let clock = Date.now() - 60_000;
  const tick = () => new Date((clock += 1000));

  beforeAll(async () => {
    nock.disableNetConnect();
    // The fake GitHub, the app's webhook endpoint and Redis are local.
    nock.enableNetConnect("127.0.0.1");
    gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
    gh.addRepo({ id: scenario.repoId, owner: scenario.owner, name: scenario.name, installationId: scenario.installationId });
    gh.setPermission(REPO, "maintainer", "write");
    redis = await startPrivateRedis();
    app = await startInProcessApp({
      credentials,
      github: gh.env,
      redisUrl: redis.url,
      keyPrefix: "lifecycle-requests:",
      operatorConfig: stringify({ templates: { default: { ttl: "4h", maxTtl: "2d", steps: [DEPLOY_STEP] } } }),
    });
    // Start-up asks who the App is and for failed deliveries (resync finds nothing to compare yet), in no set order.
    await waitFor(() => ["/app", "/app/hook/deliveries"].every((route) => gh.requests.some((request) => request.route === route)), () => app.output());
    phases.push(["start-up", takeRequests()]);
  });
  afterAll(async () => {
    if (!stopped) await app?.stop();
    await redis?.stop();
    nock.enableNetConnect();
    console.log("GitHub requests per event (method path: count):");
    for (const [name, requests] of phases) console.log(`  ${name}: ${JSON.stringify(countsByRoute(requests))}`);
    // Last: it throws if any request was invalid against GitHub's OpenAPI description.
    await gh?.close();
  });

  /** The requests since the last call, oldest first. */
  function takeRequests(): RecordedRequest[] {
    const taken = [...gh.requests];
    gh.clearRequests();
    return taken;
  }

  async function send(event: string, payload: object): Promise<void> {
    expect((await app.deliver(event, payload)).status, app.output()).toBe(200);
  }

  /** One step of the life: what it sent GitHub, once `shown` says GitHub shows its outcome. */
  async function phase(name: string, act: () => Promise<void>, shown: () => Promise<boolean> | boolean): Promise<string[]> {
    takeRequests();
    await act();
    await waitFor(shown, () => `${app.output()}\n${JSON.stringify(gh.requests.map(({ method, path }) => `${method} ${path}`), null, 1)}`);
    const requests = takeRequests();
    phases.push([name, requests]);
    expect(gh.unexpected).toEqual([]);
    return requests.map(spelled);
  }

  const snapshot = () => app.store.load(key);
  const botComments = () => gh.commentsOn(REPO, scenario.pr).filter((comment) => comment.user.id === gh.bot.id);
  const sticky = () => botComments().find((comment) => comment.body.startsWith("<!-- ephemera:env:pr-42 -->"));
  const deployments = (): FakeDeployment[] => gh.deploymentsOf(REPO);
  const lastState = (headSha: string) => deployments().find((deployment) => deployment.sha === headSha)?.statuses.at(-1)?.state;
  /** The PR as GitHub has it when an event is sent. */
  const pullAt = (headSha: string, state: "open" | "closed" = "open") => gh.setPull(REPO, { number: scenario.pr, state, head: { sha: headSha, ref: "feature" } });
  /** Ready for `headSha`, and the PR shows it: its deployment succeeded, the ids GitHub gave are in the store. */
  const readyFor = (headSha: string) => async () => {
    const current = await snapshot();
    return (
      current?.fields.status === "ready" &&
      current.inbox.length === 0 &&
      current.shown?.deployments.some(({ sha }) => sha === headSha) === true &&
      lastState(headSha) === "success" &&
      sticky()?.body.includes(`\`${headSha.slice(0, 7)}\``) === true
    );
  };

  /**
   * The notifier folds the changes of one second into one update (DESIGN §5),
   * so a quick step's "setting up" folds into "ready". On a loaded machine
   * the first update may come while the step still runs: then the PR shows
   * "setting up" first, at the cost of one more edit and one more status
   * (tearing down, of one more edit). Either way the requests are exactly these.
   */
  const SHOWN_AGAIN = ["PATCH /repos/octo/shop/issues/comments/{comment_id}", "POST /repos/octo/shop/deployments/{deployment_id}/statuses"];
  const expectFoldedOrShownTwice = (actual: string[], folded: string[], shownTwice: string[]) => {
    expect([folded, shownTwice]).toContainEqual(actual);
  };
  const OPENED = [
    // A token for the repository's id alone reads its file; the installation's own reads the owner's `.github` and shows the PR.
    "POST /app/installations/77/access_tokens",
    "GET /repos/octo/shop/contents/{path}",
    "POST /app/installations/77/access_tokens",
    "GET /repos/octo/.github/contents/{path}",
    "GET /repos/octo/shop/issues/42/comments",
    "POST /repos/octo/shop/issues/42/comments",
    "GET /repos/octo/shop/deployments",
    "POST /repos/octo/shop/deployments",
    "POST /repos/octo/shop/deployments/{deployment_id}/statuses",
  ];
  const UPDATE_FOR_NEW_HEAD = [
    "PATCH /repos/octo/shop/issues/comments/{comment_id}",
    "GET /repos/octo/shop/deployments",
    "POST /repos/octo/shop/deployments",
    "POST /repos/octo/shop/deployments/{deployment_id}/statuses",
  ];

  it("creates one comment and edits it, one deployment per sha, and leaves every deployment inactive", async () => {
    expect(phases[0]?.[1].map(({ method, route, auth }) => `${method} ${route} (${auth})`).sort()).toEqual([
      "GET /app (app)",
      "GET /app/hook/deliveries (app)",
    ]);

    pullAt(sha(1));
    const opened = await phase(
      "pull_request.opened",
      () => send("pull_request", pullRequestEvent(scenario, "opened", { sha: sha(1), at: tick() })),
      readyFor(sha(1)),
    );
    expectFoldedOrShownTwice(opened, OPENED, [...OPENED, ...SHOWN_AGAIN]);

    for (const n of [2, 3, 4]) {
      pullAt(sha(n));
      const pushed = await phase(
        "pull_request.synchronize",
        () => send("pull_request", pullRequestEvent(scenario, "synchronize", { sha: sha(n), at: tick() })),
        readyFor(sha(n)),
      );
      expectFoldedOrShownTwice(pushed, UPDATE_FOR_NEW_HEAD, [...UPDATE_FOR_NEW_HEAD, ...SHOWN_AGAIN]);
    }

    const before = Date.parse((await snapshot())?.fields.expires_at ?? "");
    const extendedTo = new Date(before + 2 * HOUR).toISOString().slice(0, 16).replace("T", " ");
    const command = gh.addComment(REPO, scenario.pr, { body: "/preview extend 2h", user: "maintainer" });
    const extended = await phase(
      "issue_comment.created (/preview extend 2h)",
      () => send("issue_comment", prCommentEvent(scenario, command.body, { login: "maintainer", at: tick(), id: command.id })),
      () => sticky()?.body.includes(`**Expires:** ${extendedTo} UTC`) === true,
    );
    expect(extended).toEqual([
      "GET /repos/octo/shop/collaborators/maintainer/permission",
      "POST /repos/octo/shop/issues/comments/{comment_id}/reactions",
      "PATCH /repos/octo/shop/issues/comments/{comment_id}",
    ]);
    expect(Date.parse((await snapshot())?.fields.expires_at ?? "")).toBe(before + 2 * HOUR);
    expect(gh.state.reactions.map(({ commentId, content, user }) => ({ commentId, content, user: user.login }))).toEqual([
      { commentId: command.id, content: "+1", user: gh.bot.login },
    ]);

    pullAt(sha(4), "closed");
    const closed = await phase(
      "pull_request.closed",
      () => send("pull_request", pullRequestEvent(scenario, "closed", { sha: sha(4), at: tick() })),
      async () => (await snapshot())?.fields.status === "deleted" && deployments().every((deployment) => deployment.statuses.at(-1)?.state === "inactive"),
    );
    const TORN_DOWN = [
      "PATCH /repos/octo/shop/issues/comments/{comment_id}",
      "GET /repos/octo/shop/deployments",
      // The record knows the status last posted on each: no status read before `inactive`.
      ...[1, 2, 3, 4].map(() => "POST /repos/octo/shop/deployments/{deployment_id}/statuses"),
    ];
    expectFoldedOrShownTwice(closed, TORN_DOWN, ["PATCH /repos/octo/shop/issues/comments/{comment_id}", ...TORN_DOWN]);

    // Nothing more comes once it is all shown: the inbox is empty and nothing is due, and
    // stopping the app lets every update still queued (the coalescing window is 1 s) go out first.
    expect((await snapshot())?.inbox).toEqual([]);
    expect(await app.store.oldestDue().then((due) => due === null || due > Date.now() + HOUR)).toBe(true);
    stopped = true;
    await app.stop();
    expect(gh.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    expect(gh.unexpected).toEqual([]);

    // What GitHub shows in the end: one comment, edited in place; one deployment per sha, each inactive.
    expect(botComments()).toHaveLength(1);
    expect(sticky()?.body).toContain("🗑️ Preview environment: torn down");
    expect(deployments().map((deployment) => deployment.sha)).toEqual([1, 2, 3, 4].map(sha));
    for (const deployment of deployments()) {
      expect([["success", "inactive"], ["in_progress", "success", "inactive"]]).toContainEqual(deployment.statuses.map((status) => status.state));
    }
    expect(deployments()[0]?.request).toMatchObject({
      environment: "preview/pr-42",
      transient_environment: true,
      production_environment: false,
      auto_merge: false,
      required_contexts: [],
    });
    expect(deployments()[3]?.statuses.at(-2)).toMatchObject({ state: "success", environment_url: "http://127.0.0.1:9/pr-42" });
  });
});
