import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { spawnApp, type AppProcess } from "../helpers/app-process.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { deployOnEveryPushConfig } from "../helpers/operator-config.js";
import { pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { deliver } from "../helpers/webhooks.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * Issue 11.3: a Redis restart must leave the server able to reach GitHub.
 * Probot's throttling in Bottleneck's Redis mode (what `REDIS_URL` turned on
 * when it was handed to Probot) answered every GitHub call after a restart
 * with `ERR UNKNOWN_CLIENT` until the process restarted. Here the real server
 * process runs on a private Redis that is killed and started again on the
 * same port; a PR opened afterwards must still get its comment and its
 * deployment, with no process restart.
 */

const credentials = testAppCredentials();
const scenario = (pr: number): PrScenario => ({ repoId: 6601, owner: "octo", name: "depot", installationId: 78, pr });
const sha = (n: number) => String(n).repeat(40);

describe("the server process across a Redis restart", () => {
  let gh: FakeGitHub;
  let redis: PrivateRedis;
  let app: AppProcess;

  beforeAll(async () => {
    gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
    gh.addRepo({ id: 6601, owner: "octo", name: "depot", installationId: 78 });
    redis = await startPrivateRedis();
    const dir = mkdtempSync(join(tmpdir(), "ephemera-e2e-redis-"));
    writeFileSync(join(dir, "ephemera.config.yml"), deployOnEveryPushConfig());
    app = await spawnApp({
      env: { ...credentials, ...gh.env, REDIS_URL: redis.url, EPHEMERA_KEY_PREFIX: "restart:", EPHEMERA_CONFIG: join(dir, "ephemera.config.yml") },
      cwd: dir,
    });
  });
  afterAll(async () => {
    await app?.dispose();
    await redis?.stop();
    await gh?.close();
  });

  /** Opens PR `pr` and waits for its sticky comment and a successful deployment of its head. */
  async function openAndShow(pr: number): Promise<void> {
    gh.setPull("octo/depot", { number: pr, head: { sha: sha(pr), ref: `feature-${pr}` } });
    // After the restart the first delivery may meet a store that is reconnecting: GitHub's redelivery is a resend.
    await waitFor(async () => {
      const response = await deliver(app.url("/api/github/webhooks"), "pull_request", pullRequestEvent(scenario(pr), "opened", { sha: sha(pr), at: new Date() }), {
        secret: credentials.WEBHOOK_SECRET,
        deliveryId: `open-${pr}`,
      });
      return response.status === 200;
    }, app.output);
    await waitFor(() => {
      const comments = gh.commentsOn("octo/depot", pr).filter((comment) => comment.user.login === gh.bot.login);
      const deployment = gh.deploymentsOf("octo/depot", `preview/pr-${pr}`).find((found) => found.sha === sha(pr));
      return comments.length === 1 && deployment?.statuses.at(-1)?.state === "success";
    }, () => `${app.output()}\nGitHub requests: ${JSON.stringify(gh.requests.slice(-20).map((r) => `${r.method} ${r.path} ${r.status}`))}`);
  }

  it("gives a PR opened after Redis was killed and started again its comment and deployment", async () => {
    await openAndShow(1);
    await redis.kill();
    await redis.start();
    await openAndShow(2);
    expect(app.child.exitCode).toBeNull();
    expect(app.output()).not.toContain("UNKNOWN_CLIENT");
  });
});
