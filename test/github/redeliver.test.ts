import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { redeliverFailed } from "../../src/github/redeliver.js";
import { openSqliteStore, type SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type DeliveryInput, type FakeGitHub, type FakeGitHubOptions } from "../helpers/fake-github.js";

// Redelivery against the fake GitHub API (App JWT auth, cursor pagination, the
// 3-day window) with a real SQLite store; a "restart" is a fresh store handle
// on the same file and a fresh Probot.

const credentials = testAppCredentials();
const Octokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } }));
const log = pino({ level: "silent" });
const ATTEMPTS = "/app/hook/deliveries/{delivery_id}/attempts";
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

let gh: FakeGitHub;
let dataDir: string;
let store: SqliteStore;
let probot: Probot;
/** What the app answers to a redelivery; tests change it. */
let appAnswers: NonNullable<FakeGitHubOptions["onRedeliver"]>;

beforeEach(async () => {
  appAnswers = () => 200;
  gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY, onRedeliver: (delivery) => appAnswers(delivery) });
  dataDir = mkdtempSync(join(tmpdir(), "ephemera-redeliver-"));
  start();
});

afterEach(async () => {
  expect(gh.unexpected).toEqual([]);
  await store.close();
  await gh.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function start() {
  store = openSqliteStore({ dataDir, prefix: "ephemera:" });
  probot = new Probot({ appId: credentials.APP_ID, privateKey: credentials.PRIVATE_KEY, baseUrl: gh.baseUrl, Octokit, log });
}

async function restart() {
  await store.close();
  start();
}

async function run() {
  const report = await redeliverFailed({ appOctokit: await probot.auth(), store, log });
  await gh.settled(); // GitHub lists the new attempts once the app has answered them
  return report;
}

const failed = (minutes: number, input: Partial<DeliveryInput> = {}) =>
  gh.addDelivery({ event: "pull_request", action: "closed", status: "Invalid HTTP Response: 500", delivered_at: minutesAgo(minutes), installation_id: 77, repository_id: 123456, ...input });
const ok = (minutes: number, input: Partial<DeliveryInput> = {}) => gh.addDelivery({ event: "pull_request", action: "synchronize", delivered_at: minutesAgo(minutes), ...input });
const askedFor = () => gh.state.redeliveryAttempts.map((attempt) => attempt.deliveryId);

describe("redeliverFailed", () => {
  it("asks for a failed delivery exactly once across restarts, even when the redelivery fails too", async () => {
    appAnswers = () => 500;
    ok(30);
    const lost = failed(20);
    ok(10);

    const first = await run();
    expect(askedFor()).toEqual([lost.id]);
    expect(first).toMatchObject({ scanned: 3, redelivered: [lost.guid], failed: 0 });
    expect(gh.state.deliveries.at(-1)).toMatchObject({ guid: lost.guid, redelivery: true, status: "Invalid HTTP Response: 500" });

    await restart();
    const second = await run();
    expect(askedFor()).toEqual([lost.id]);
    expect(second).toMatchObject({ redelivered: [], failed: 0 });
    expect(gh.requestsMatching("*", "/app/*").every((request) => request.auth === "app")).toBe(true);
  });

  it("asks once when restarted before GitHub lists the new attempt", async () => {
    let answer!: (status: number) => void;
    appAnswers = () => new Promise<number>((resolve) => (answer = resolve));
    const lost = failed(0); // too recent for the cursor to pass it: the next run lists it again

    await redeliverFailed({ appOctokit: await probot.auth(), store, log });
    await restart();
    await redeliverFailed({ appOctokit: await probot.auth(), store, log });
    answer(200);
    await gh.settled();

    expect(askedFor()).toEqual([lost.id]);
  });

  it("leaves alone deliveries that succeeded, or were redelivered since, by anyone", async () => {
    ok(50);
    const fixed = failed(40);
    ok(35, { guid: fixed.guid, redelivery: true });
    const retriedByHand = failed(30);
    failed(25, { guid: retriedByHand.guid, redelivery: true });

    expect(await run()).toMatchObject({ scanned: 5, redelivered: [] });
    expect(gh.count("POST", ATTEMPTS)).toBe(0);
  });

  it("does not look past GitHub's 3-day window", async () => {
    failed(4 * 24 * 60);
    const recent = failed(60);

    expect(await run()).toMatchObject({ scanned: 1, redelivered: [recent.guid] });
    expect(askedFor()).toEqual([recent.id]);
  });

  it("walks back only to the cursor on the next run", async () => {
    failed(30);
    ok(20);
    const first = await run();
    expect(first.cursor).toEqual(expect.any(Number));
    expect(await store.getMeta("redelivery:cursor")).toBe(String(first.cursor));

    const later = failed(5);
    const second = await run();
    // The redelivery of the first run (listed just now) and the new failure; nothing at or before the cursor.
    expect(second).toMatchObject({ scanned: 2, redelivered: [later.guid] });
    expect(second.cursor).toBe(later.id);
  });

  it("asks again next run when GitHub did not take the request, and keeps the cursor before it", async () => {
    const lost = failed(30);
    const after = failed(20);
    gh.failNext("POST", ATTEMPTS, 500);

    const first = await run();
    expect(first).toMatchObject({ redelivered: [after.guid], failed: 1, cursor: null });
    expect(await store.getMeta("redelivery:cursor")).toBeNull();

    await restart();
    const second = await run();
    expect(second).toMatchObject({ redelivered: [lost.guid], failed: 0 });
    expect(askedFor()).toEqual([after.id, lost.id]);
  });

  it("treats a refusal for an expired delivery as final", async () => {
    const expiring = failed(30);
    gh.failNext("POST", ATTEMPTS, 422);

    expect(await run()).toMatchObject({ redelivered: [], failed: 0, cursor: expiring.id });
    expect(await run()).toMatchObject({ scanned: 0 });
    expect(gh.count("POST", ATTEMPTS)).toBe(1);
  });

  it("asks for what it saw when the listing breaks off, and keeps the cursor", async () => {
    const oldest = failed(300);
    for (let index = 0; index < 100; index++) ok(200 - index);
    const newest = failed(10);
    const appOctokit = await probot.auth();
    // The second page (cursor pagination) never arrives, this time. (Probot hands out one App Octokit: the hook stays.)
    let broken = true;
    appOctokit.hook.wrap("request", async (request, options) => {
      if (broken && String(options.url).includes("cursor=")) throw new Error("socket hang up");
      return request(options);
    });

    expect(await redeliverFailed({ appOctokit, store, log })).toMatchObject({ scanned: 100, redelivered: [newest.guid], cursor: null });
    await gh.settled();
    expect(await store.getMeta("redelivery:cursor")).toBeNull();

    broken = false;
    expect(await run()).toMatchObject({ redelivered: [oldest.guid] });
    expect(askedFor()).toEqual([newest.id, oldest.id]);
  });

  it("changes nothing when the deliveries cannot be listed", async () => {
    failed(30);
    gh.failNext("GET", "/app/hook/deliveries", 500);

    expect(await run()).toMatchObject({ scanned: 0, redelivered: [], cursor: null });
    expect(gh.count("POST", ATTEMPTS)).toBe(0);
  });
});
