import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { startInProcessApp, type InProcessApp } from "../helpers/in-process-app.js";
import { pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * Issue 10 point 5: an operator secret referenced as `${VAR}`, and a literal
 * value named like a secret, reach the step, and the step prints them (one
 * in two writes) and writes them into outputs. Nothing of either reaches
 * any sink: the requests GitHub received (comment, deployment statuses), the
 * app's log at every level, and every key of the store.
 */

const credentials = testAppCredentials();
const scenario: PrScenario = { repoId: 7701, owner: "octo", name: "vault", installationId: 88, pr: 9 };
const TOKEN = `tok-${randomBytes(12).toString("hex")}`;
const LITERAL_KEY = `literal-${randomBytes(12).toString("hex")}`;
/** Each half alone must not appear either: masking works on the whole output, not per chunk. */
const traces = [TOKEN, LITERAL_KEY, TOKEN.slice(0, 14), TOKEN.slice(14), LITERAL_KEY.slice(0, 14), LITERAL_KEY.slice(14)];

const operatorConfig = `
templates:
  default:
    steps:
      - name: publish
        run: |
          echo "url=http://127.0.0.1:9/pr-9?t=$DEPLOY_TOKEN" >> "$EPHEMERA_OUTPUT"
          echo "note=key $API_KEY" >> "$EPHEMERA_OUTPUT"
          echo "publishing with $DEPLOY_TOKEN and $API_KEY"
        env: { DEPLOY_TOKEN: "\${E2E_MASKING_TOKEN}", API_KEY: "${LITERAL_KEY}" }
      - name: deploy
        run: |
          printf 'token: %s' "$(printf '%s' "$T" | cut -c1-14)"; sleep 0.2; printf '%s\\n' "$(printf '%s' "$T" | cut -c15-)"
          echo "key: $API_KEY" >&2
          exit 1
        env: { T: "\${E2E_MASKING_TOKEN}", API_KEY: "${LITERAL_KEY}" }
`;

describe("secrets a step sees", () => {
  let gh: FakeGitHub;
  let redis: PrivateRedis;
  let app: InProcessApp;
  const log: string[] = [];

  beforeAll(async () => {
    // The server's environment, where operator secrets live: this process is the server here.
    process.env.E2E_MASKING_TOKEN = TOKEN;
    gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
    gh.addRepo({ id: scenario.repoId, owner: scenario.owner, name: scenario.name, installationId: scenario.installationId });
    redis = await startPrivateRedis();
    app = await startInProcessApp({
      credentials,
      github: gh.env,
      redisUrl: redis.url,
      keyPrefix: "masking:",
      operatorConfig,
      onLog: (line) => log.push(line),
    });
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
    await gh?.close();
    delete process.env.E2E_MASKING_TOKEN;
  });

  it("leave no trace on the PR, in the log or in the store", async () => {
    const sha = "a".repeat(40);
    gh.setPull("octo/vault", { number: 9, head: { sha, ref: "feature" } });
    const delivered = await app.deliver("pull_request", pullRequestEvent(scenario, "opened", { sha, at: new Date() }));
    expect(delivered.status).toBe(200);

    const comment = () => gh.commentsOn("octo/vault", 9).find((c) => c.user.login === gh.bot.login);
    await waitFor(async () => {
      const failed = (await app.store.load({ repoId: scenario.repoId, pr: scenario.pr }))?.fields.status === "failed";
      const shown = gh.deploymentsOf("octo/vault").at(-1)?.statuses.at(-1)?.state === "failure";
      return failed && shown && (comment()?.body.includes("exited with code 1") ?? false);
    }, () => app.output());
    await gh.settled();

    // The step did get the values: what it printed shows where they were.
    expect(comment()?.body).toContain("token: ***\nkey: ***");

    const github = JSON.stringify(gh.requests.map((request) => [request.method, request.path, request.query, request.body]));
    const store = JSON.stringify(await everyKey(redis, "masking:"));
    expect(store).toContain("key ***");
    for (const [sink, text] of [["GitHub", github], ["log", log.join("")], ["store", store]] as const) {
      for (const trace of traces) expect(text.includes(trace), `${sink} holds ${trace}`).toBe(false);
    }
  });
});

/** Every key under `prefix` with its whole value, whatever its type. */
async function everyKey(redis: PrivateRedis, prefix: string): Promise<Record<string, unknown>> {
  const client = redis.client();
  try {
    const keys = await client.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    const dump: Record<string, unknown> = {};
    for (const key of keys) {
      const type = await client.type(key);
      if (type === "string") dump[key] = await client.get(key);
      else if (type === "hash") dump[key] = await client.hgetall(key);
      else if (type === "list") dump[key] = await client.lrange(key, 0, -1);
      else if (type === "set") dump[key] = await client.smembers(key);
      else if (type === "zset") dump[key] = await client.zrange(key, "0", "-1", "WITHSCORES");
      else if (type === "stream") dump[key] = await client.xrange(key, "-", "+");
      else throw new Error(`${key}: a ${type} this dump does not read`);
    }
    return dump;
  } finally {
    client.disconnect();
  }
}
