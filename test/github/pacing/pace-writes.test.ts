import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { installationClients } from "../../../src/github/installation-clients.js";
import { paceWrites } from "../../../src/github/pacing/pace-writes.js";
import { createWritePacer, type WritePacerOptions } from "../../../src/github/pacing/write-pacer.js";
import { openSqliteStore, type SqliteStore } from "../../../src/store/sqlite/sqlite-store.js";
import { testAppCredentials } from "../../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub } from "../../helpers/fake-github.js";

// The pacing plugin on Probot's Octokit, against the fake GitHub and a real
// (SQLite) store: writes take a token of their installation's bucket and wait
// what the store answers; reads do not; a store that does not answer never
// holds a write back for longer than the timeout.

const credentials = testAppCredentials();
const INSTALLATION = 77;

let gh: FakeGitHub;
let dataDir: string;
let store: SqliteStore;
let warnings: string[];
/** The buckets tokens were taken from, one entry a take. */
let takes: string[];

beforeEach(async () => {
  gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
  gh.addRepo({ id: 123456, owner: "acme", name: "web", installationId: INSTALLATION });
  gh.setPull("acme/web", { number: 1, head: { sha: "a".repeat(40), ref: "feature" } });
  dataDir = mkdtempSync(join(tmpdir(), "ephemera-pacing-"));
  store = openSqliteStore({ dataDir, prefix: "ephemera:" });
  warnings = [];
  takes = [];
});

afterEach(async () => {
  expect(gh.unexpected).toEqual([]);
  store.close();
  await gh.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A repository client whose writes go through a pacer with these options (Probot's throttling off: it would space writes itself). */
async function pacedClient(options: Partial<WritePacerOptions>) {
  const log = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  const counted = { takeToken: (...args: Parameters<SqliteStore["takeToken"]>) => (takes.push(args[0]), store.takeToken(...args)) };
  const pacer = createWritePacer({ store: counted, limit: { perSecond: 1, burst: 1 }, log, ...options });
  const Octokit = ProbotOctokit.plugin(paceWrites(pacer)).defaults((o: Record<string, unknown>) => ({ ...o, retry: { enabled: false }, throttle: { enabled: false } }));
  const probot = new Probot({ appId: credentials.APP_ID, privateKey: credentials.PRIVATE_KEY, baseUrl: gh.baseUrl, Octokit, log });
  return installationClients(() => probot).forRepository({ installationId: INSTALLATION, repoId: 123456 });
}

async function timed(call: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await call();
  return Date.now() - started;
}

describe("GitHub write pacing", () => {
  it("spaces an installation's writes by its bucket, and lets reads through", async () => {
    const octokit = await pacedClient({});
    const comment = () => octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body: "hi" });
    await octokit.rest.pulls.get({ owner: "acme", repo: "web", pull_number: 1 });
    await comment();
    // The burst (1) is spent: the next write waits for the refill, a second at 1 a second (less the first one's own time).
    expect(await timed(comment)).toBeGreaterThanOrEqual(500);
    await octokit.rest.pulls.get({ owner: "acme", repo: "web", pull_number: 1 });

    expect(takes).toEqual([`github-writes:${INSTALLATION}`, `github-writes:${INSTALLATION}`]);
    expect(gh.commentsOn("acme/web", 1)).toHaveLength(2);
  });

  it("shares the bucket with every client of the installation, as replicas share the store", async () => {
    const [first, second] = [await pacedClient({}), await pacedClient({})];
    await first.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body: "one" });
    expect(await timed(() => second.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body: "two" }))).toBeGreaterThanOrEqual(500);
  });

  it("writes without waiting for a store that does not answer, and warns once", async () => {
    const octokit = await pacedClient({ store: { takeToken: () => new Promise<number>(() => undefined) }, storeTimeoutMs: 100 });
    for (const body of ["one", "two"]) {
      expect(await timed(() => octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body }))).toBeLessThan(1_000);
    }
    expect(gh.commentsOn("acme/web", 1)).toHaveLength(2);
    expect(warnings.filter((message) => message.includes("GitHub write pacing"))).toHaveLength(1);
  });
});
