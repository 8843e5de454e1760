import { afterAll, beforeAll, expect, it } from "vitest";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { startInProcessApp, type InProcessApp } from "../helpers/in-process-app.js";
import { pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * GitHub never redelivers by itself: a PR closed while Ephemera was down
 * would keep its environment forever. The resync at start-up must find it
 * (GitHub says closed) and tear it down, with no webhook at all.
 */

const credentials = testAppCredentials();
const scenario: PrScenario = { repoId: 6601, owner: "octo", name: "down", installationId: 88, pr: 7 };
const key = { repoId: scenario.repoId, pr: scenario.pr };
const OPERATOR_CONFIG = `
templates:
  default:
    steps:
      - name: deploy
        run: echo "url=http://127.0.0.1:9/pr-$EPHEMERA_PR" >> "$EPHEMERA_OUTPUT"
`;

let gh: FakeGitHub;
let redis: PrivateRedis;
let app: InProcessApp | undefined;

beforeAll(async () => {
  gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
  gh.addRepo({ id: scenario.repoId, owner: scenario.owner, name: scenario.name, installationId: scenario.installationId });
  redis = await startPrivateRedis();
});
afterAll(async () => {
  await app?.stop();
  await redis?.stop();
  await gh?.close();
});

const start = () =>
  startInProcessApp({ credentials, github: gh.env, redisUrl: redis.url, keyPrefix: "downtime:", operatorConfig: OPERATOR_CONFIG });

it("tears down, at start-up, an environment whose PR was closed while the app was stopped", async () => {
  const sha = "d".repeat(40);
  gh.setPull("octo/down", { number: 7, head: { sha, ref: "feature" } });
  app = await start();
  await app.deliver("pull_request", pullRequestEvent(scenario, "opened", { sha, at: new Date() }));
  const first = app;
  await waitFor(async () => (await first.store.load(key))?.fields.status === "ready", () => first.output());
  await app.stop();
  app = undefined;

  gh.setPull("octo/down", { number: 7, state: "closed", head: { sha, ref: "feature" } });
  gh.clearRequests();
  app = await start();
  const second = app;
  await waitFor(async () => (await second.store.load(key))?.fields.status === "deleted", () => second.output());
  expect((await second.store.load(key))?.fields.desired?.closeReason).toBe("closed");
  expect(gh.count("GET", "/repos/octo/down/pulls")).toBe(1);
  expect(gh.count("GET", "/repos/octo/down/pulls/7")).toBe(1);
  expect(gh.unexpected).toEqual([]);
});
