import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import type { StateStore } from "../../src/lifecycle/state-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { spawnApp, type AppProcess } from "../helpers/app-process.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { deployOnEveryPushConfig } from "../helpers/operator-config.js";
import { prCommentEvent, pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { deliver } from "../helpers/webhooks.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * The real server process (src/main.ts, as `npm start` runs it) against a
 * fake GitHub API reached through GHE_HOST and a private Redis: a PR's whole
 * life through signed webhooks over HTTP, watched in the store and in the
 * requests GitHub received.
 */

const credentials = testAppCredentials();
const scenario: PrScenario = { repoId: 5501, owner: "octo", name: "shop", installationId: 77, pr: 42 };
const key = { repoId: scenario.repoId, pr: scenario.pr };
const sha = (n: number) => String(n).repeat(40);

describe("the server process against a fake GitHub", () => {
  let gh: FakeGitHub;
  let redis: PrivateRedis;
  let app: AppProcess;
  let store: StateStore;
  const counts: Array<[string, Record<string, number>]> = [];

  beforeAll(async () => {
    gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
    gh.addRepo({ id: scenario.repoId, owner: scenario.owner, name: scenario.name, installationId: scenario.installationId });
    gh.setPermission("octo/shop", "maintainer", "write");
    gh.setPermission("octo/shop", "visitor", "read");
    redis = await startPrivateRedis();
    const dir = mkdtempSync(join(tmpdir(), "ephemera-e2e-"));
    writeFileSync(join(dir, "ephemera.config.yml"), deployOnEveryPushConfig());
    app = await spawnApp({
      env: { ...credentials, ...gh.env, REDIS_URL: redis.url, EPHEMERA_KEY_PREFIX: "e2e:", EPHEMERA_CONFIG: join(dir, "ephemera.config.yml") },
      cwd: dir,
    });
    store = createRedisStore({ url: redis.url, prefix: "e2e:" });
  });
  afterAll(async () => {
    await store?.close();
    await app?.dispose();
    await redis?.stop();
    await gh?.close();
    console.log("GitHub requests per event (method path: count):");
    for (const [event, byRoute] of counts) console.log(`  ${event}: ${JSON.stringify(byRoute)}`);
  });

  async function send(event: string, payload: object): Promise<void> {
    const response = await deliver(app.url("/api/github/webhooks"), event, payload, { secret: credentials.WEBHOOK_SECRET });
    expect(response.status, app.output()).toBe(200);
  }

  /** Runs one step of the life and records what it cost in GitHub requests. */
  async function phase(name: string, act: () => Promise<void>): Promise<void> {
    gh.clearRequests();
    await act();
    await gh.settled();
    const byRoute: Record<string, number> = {};
    for (const request of gh.requests) byRoute[`${request.method} ${request.route}`] = (byRoute[`${request.method} ${request.route}`] ?? 0) + 1;
    counts.push([name, byRoute]);
    expect(gh.unexpected).toEqual([]);
  }

  async function readyFor(headSha: string) {
    await waitFor(async () => {
      const snapshot = await store.load(key);
      const deployments = gh.deploymentsOf("octo/shop", "preview/pr-42");
      const ours = deployments.find((deployment) => deployment.sha === headSha);
      return snapshot?.fields.status === "ready" && snapshot.fields.checkpoints?.deploy?.sha === headSha && ours?.statuses.at(-1)?.state === "success";
    }, () => app.output());
  }

  it("lives a PR's whole life: open, three pushes, extend, close", async () => {
    let at = Date.now() - 60_000;
    const tick = () => new Date((at += 1000));

    gh.setPull("octo/shop", { number: 42, head: { sha: sha(1), ref: "feature" } });
    await phase("pull_request.opened", async () => {
      await send("pull_request", pullRequestEvent(scenario, "opened", { sha: sha(1), at: tick() }));
      await readyFor(sha(1));
    });
    const comments = () => gh.commentsOn("octo/shop", 42).filter((comment) => comment.user.login === gh.bot.login);
    expect(comments()).toHaveLength(1);
    expect(comments()[0]?.body).toContain(`http://127.0.0.1:9/pr-42-${sha(1)}`);

    for (const n of [2, 3, 4]) {
      gh.setPull("octo/shop", { number: 42, head: { sha: sha(n), ref: "feature" } });
      await phase("pull_request.synchronize", async () => {
        await send("pull_request", pullRequestEvent(scenario, "synchronize", { sha: sha(n), at: tick() }));
        await readyFor(sha(n));
      });
    }
    expect(gh.deploymentsOf("octo/shop", "preview/pr-42").map((deployment) => deployment.sha)).toEqual([sha(1), sha(2), sha(3), sha(4)]);

    const before = Date.parse((await store.load(key))?.fields.expires_at ?? "");
    const command = gh.addComment("octo/shop", 42, { body: "/preview extend 2h", user: "maintainer" });
    await phase("issue_comment.created (/preview extend 2h)", async () => {
      await send("issue_comment", prCommentEvent(scenario, "/preview extend 2h", { login: "maintainer", at: tick(), id: command.id }));
      await waitFor(async () => Date.parse((await store.load(key))?.fields.expires_at ?? "") === before + 2 * 3_600_000, () => app.output());
    });
    expect(gh.state.reactionsOn(command.id).map((reaction) => reaction.content)).toEqual(["+1"]);

    gh.setPull("octo/shop", { number: 42, state: "closed", head: { sha: sha(4), ref: "feature" } });
    await phase("pull_request.closed", async () => {
      await send("pull_request", pullRequestEvent(scenario, "closed", { sha: sha(4), at: tick() }));
      await waitFor(async () => {
        const deployments = gh.deploymentsOf("octo/shop", "preview/pr-42");
        return (await store.load(key))?.fields.status === "deleted" && deployments.every((d) => d.statuses.at(-1)?.state === "inactive");
      }, () => app.output());
    });

    expect(comments()).toHaveLength(1);
    expect(comments()[0]?.body).toContain("torn down");
    expect(gh.deploymentsOf("octo/shop", "preview/pr-42")).toHaveLength(4);
  });
});
