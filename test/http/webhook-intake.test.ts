import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebhookIntake, type IntakeContext } from "../../src/http/webhook-intake.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startInProcessApp, type InProcessApp } from "../helpers/in-process-app.js";
import { pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { deliver, examplePayload, sign } from "../helpers/webhooks.js";

const SECRET = "intake-secret";
const SCENARIO: PrScenario = { repoId: 5151, owner: "octo", name: "intake", installationId: 51, pr: 3 };
const push = (sha: string) => pullRequestEvent(SCENARIO, "synchronize", { sha, at: new Date() });

describe("the webhook intake in front of another listener", () => {
  let server: Server;
  let url: string;
  const handled: IntakeContext[] = [];
  const handedOn: string[] = [];
  let failNext: Error | undefined;

  beforeAll(async () => {
    const intake = new WebhookIntake({ secret: SECRET, path: "/hooks", log: pino({ level: "silent" }) });
    intake.route("pull_request", ["synchronize", "opened"], async (context: IntakeContext) => {
      if (failNext) {
        const error = failNext;
        failNext = undefined;
        throw error;
      }
      handled.push(context);
    });
    // Stands in for Probot's listener: answers 299 so a test can tell it was reached.
    server = createServer((req, res) => {
      handedOn.push(`${req.method} ${req.url} ${String(req.headers["x-github-event"])}`);
      req.resume().on("end", () => res.writeHead(299).end("behind"));
    });
    intake.takeRequestsFirst(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => {
    handled.length = 0;
    handedOn.length = 0;
  });

  it("verifies, parses and hands a signed delivery to the handler of its action, answering as Probot does", async () => {
    const id = randomUUID();
    const response = await deliver(url, "pull_request", push("a".repeat(40)), { secret: SECRET, deliveryId: id });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain");
    expect(await response.text()).toBe("ok\n");
    expect(handled).toHaveLength(1);
    expect(handled[0]).toMatchObject({ id, name: "pull_request", payload: { action: "synchronize", pull_request: { head: { sha: "a".repeat(40) } } } });
    expect(handedOn).toEqual([]);
  });

  it("answers 400 to a wrong or malformed signature and calls nothing", async () => {
    const body = push("b".repeat(40));
    const good = sign(JSON.stringify(body), SECRET);
    const wrong = [sign(JSON.stringify(body), "not-the-secret"), `${good}00`, good.slice(0, -1), good.replace("sha256=", "sha1=00"), `${good.slice(0, -2)}zz`];
    for (const signature of wrong) {
      const response = await deliver(url, "pull_request", body, { secret: SECRET, signature });
      expect(response.status, signature).toBe(400);
      expect(await response.json()).toEqual({ error: "Error: [@octokit/webhooks] signature does not match event payload and secret" });
    }
    expect(handled).toEqual([]);
    expect(handedOn).toEqual([]);
  });

  it("answers 400 to a body that is not JSON", async () => {
    const body = "{not json";
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": randomUUID(), "x-hub-signature-256": sign(body, SECRET) },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "SyntaxError: Invalid JSON" });
    expect(handled).toEqual([]);
  });

  it("answers 500 when the handler fails (GitHub marks the delivery failed; the redelivery job retries it)", async () => {
    failNext = new Error("store unreachable");
    const response = await deliver(url, "pull_request", push("c".repeat(40)), { secret: SECRET });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Error: store unreachable" });
  });

  it("answers 200 to an action no handler takes, and calls nothing", async () => {
    const response = await deliver(url, "pull_request", { ...push("d".repeat(40)), action: "edited" }, { secret: SECRET });
    expect(response.status).toBe(200);
    expect(handled).toEqual([]);
    expect(handedOn).toEqual([]);
  });

  it("hands on, unread, every request it does not take: other events, paths, methods, and headers Probot rejects", async () => {
    const body = push("e".repeat(40));
    await deliver(url, "issue_comment", examplePayload("issue_comment", "created"), { secret: SECRET });
    await deliver(url.replace("/hooks", "/other"), "pull_request", body, { secret: SECRET });
    await fetch(url);
    await deliver(url, "pull_request", body, { secret: SECRET, signature: null });
    await fetch(url, { method: "POST", body: "a=1", headers: { "content-type": "application/x-www-form-urlencoded", "x-github-event": "pull_request" } });
    expect(handedOn).toEqual([
      "POST /hooks issue_comment",
      "POST /other pull_request",
      "GET /hooks undefined",
      "POST /hooks pull_request",
      "POST /hooks pull_request",
    ]);
    expect(handled).toEqual([]);
  });

  it("survives a client that goes away mid-body: nothing is handled, and the next delivery is", async () => {
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const headers = ["POST /hooks HTTP/1.1", "Host: x", "Content-Type: application/json", "X-GitHub-Event: pull_request", `X-GitHub-Delivery: ${randomUUID()}`];
    socket.write(`${[...headers, `X-Hub-Signature-256: sha256=${"0".repeat(64)}`, "Content-Length: 100000", "", ""].join("\r\n")}{"action":`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => socket.once("close", resolve));
    expect((await deliver(url, "pull_request", push("9".repeat(40)), { secret: SECRET })).status).toBe(200);
    expect(handled).toHaveLength(1);
  });

  it("takes the path with a trailing slash or a query string too", async () => {
    for (const path of ["/hooks/", "/hooks?x=1"]) {
      expect((await deliver(url.replace("/hooks", path), "pull_request", push("f".repeat(40)), { secret: SECRET })).status).toBe(200);
    }
    expect(handled).toHaveLength(2);
  });
});

describe("the intake's bound on webhook bodies in flight", () => {
  let server: Server;
  let url: string;
  const handled: IntakeContext[] = [];

  beforeAll(async () => {
    const intake = new WebhookIntake({ secret: SECRET, path: "/hooks", log: pino({ level: "silent" }), bodiesInFlightLimit: 100_000 });
    intake.route("pull_request", ["synchronize"], async (context: IntakeContext) => void handled.push(context));
    server = createServer((req, res) => void req.resume().on("end", () => res.writeHead(299).end("behind")));
    intake.takeRequestsFirst(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("answers 503 while the bodies being received would pass it, on both paths, and takes deliveries again once they are done", async () => {
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    socket.on("error", () => undefined);
    const headers = ["POST /hooks HTTP/1.1", "Host: x", "Content-Type: application/json", "X-GitHub-Event: issue_comment", `X-GitHub-Delivery: ${randomUUID()}`];
    socket.write(`${[...headers, `X-Hub-Signature-256: sha256=${"0".repeat(64)}`, "Content-Length: 90000", "", ""].join("\r\n")}{"action":`);
    await waitFor(async () => (await deliver(url, "pull_request", push("a".repeat(40)), { secret: SECRET })).status === 503);
    expect((await deliver(url, "issue_comment", examplePayload("issue_comment", "created"), { secret: SECRET })).status).toBe(503);
    expect(handled).toEqual([]);
    socket.destroy();
    await waitFor(async () => (await deliver(url, "pull_request", push("b".repeat(40)), { secret: SECRET })).status === 200);
    expect(handled).toHaveLength(1);
  });
});

describe("the intake in the real server (Probot's Server, Redis)", () => {
  let redis: PrivateRedis;
  let app: InProcessApp;
  const credentials = testAppCredentials();

  beforeAll(async () => {
    redis = await startPrivateRedis();
    app = await startInProcessApp({
      credentials,
      // Nothing here reaches GitHub: a closed port refuses at once.
      github: { GHE_HOST: "127.0.0.1:1", GHE_PROTOCOL: "http" },
      redisUrl: redis.url,
      keyPrefix: `intake-${randomUUID().slice(0, 8)}:`,
      operatorConfig: "templates: { default: { ttl: 4h } }\n",
    });
    // The reconciler would fold the intents away: the inbox is what these tests read.
    await app.running.reconciler?.stop();
  }, 30_000);
  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
  });

  const key = { repoId: SCENARIO.repoId, pr: SCENARIO.pr };
  const inbox = async () => (await app.store.load(key))?.inbox ?? [];
  const serverUrl = (path: string) => `http://127.0.0.1:${app.running.server.port}${path}`;

  it("records nothing for a wrong or a missing signature, answering 400 as Probot did", async () => {
    const wrong = await deliver(serverUrl("/api/github/webhooks"), "pull_request", push("1".repeat(40)), { secret: "not-the-secret" });
    expect(wrong.status).toBe(400);
    const missing = await deliver(serverUrl("/api/github/webhooks"), "pull_request", push("1".repeat(40)), { secret: credentials.WEBHOOK_SECRET, signature: null });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: "Required headers missing: x-hub-signature-256" });
    expect(await inbox()).toEqual([]);
  });

  it("records a signed push once, however often its delivery comes, with no request log line at info", async () => {
    const id = randomUUID();
    expect((await app.deliver("pull_request", push("2".repeat(40)), id)).status).toBe(200);
    expect((await app.deliver("pull_request", push("2".repeat(40)), id)).status).toBe(200);
    const intents = await inbox();
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ type: "push", headSha: "2".repeat(40) });
    expect(app.output()).not.toContain(id);

    const metrics = await (await fetch(serverUrl("/metrics"))).text();
    expect(metrics).toMatch(/ephemera_webhook_duration_seconds_count\{event="pull_request.synchronize"\} 2/);
  });

  it("hands every other event to Probot: its request line is logged, and its handler runs", async () => {
    const id = randomUUID();
    const comment = { ...examplePayload("issue_comment", "created"), installation: { id: SCENARIO.installationId } };
    const response = await app.deliver("issue_comment", comment, id);
    expect(response.status).toBe(200);
    expect(app.output()).toContain(`"id":"${id}"`);
    const metrics = await (await fetch(serverUrl("/metrics"))).text();
    expect(metrics).toMatch(/ephemera_webhook_duration_seconds_count\{event="issue_comment.created"\} 1/);
  });
});
