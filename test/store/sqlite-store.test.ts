import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { Intent } from "../../src/lifecycle/intent.js";
import { SCHEMA_VERSION } from "../../src/store/sqlite/schema.js";
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from "../../src/store/sqlite/sqlite-store.js";
import { storeContract } from "./store.contract.js";

const PREFIX = "ephemera:";
const HOUR = 3_600_000;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STORE_MODULE = new URL("../../src/store/sqlite/sqlite-store.ts", import.meta.url).href;

/** A space is a database file; opening it twice gives two connections, as two processes would have. */
storeContract("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-sqlite-"));
  const opened: SqliteStore[] = [];
  return {
    prefix: PREFIX,
    async open(space) {
      const store = openSqliteStore({ file: join(dir, `${space}.sqlite`), prefix: PREFIX });
      opened.push(store);
      return store;
    },
    async dispose() {
      for (const store of opened) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/**
 * Starts a Node process that opens a store on `file`, says it is ready, and
 * runs `body` (with `store` in scope) once told to go; `go` resolves with
 * what it printed after "ready" when it has exited cleanly.
 */
function storeProcess(file: string, body: string) {
  const script = `
    const { openSqliteStore } = await import(${JSON.stringify(STORE_MODULE)});
    const store = openSqliteStore({ file: ${JSON.stringify(file)}, prefix: ${JSON.stringify(PREFIX)} });
    process.stdout.write("ready\\n");
    await new Promise((resolve) => process.stdin.once("data", resolve));
    ${body}
    await store.close();`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], { cwd: ROOT });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string>((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve(stdout.replace("ready\n", "")) : reject(new Error(`store process exited with ${code}: ${stderr}`)))),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    exited.catch(reject);
  });
  return { ready, go: () => (child.stdin.end("go\n"), exited) };
}

describe("the SQLite store", () => {
  const key = { repoId: 7, pr: 42 };
  const refresh = (at: string): Intent => ({ type: "refresh", at });
  let dir: string;
  let file: string;
  let opened: SqliteStore[];

  const open = (options: Partial<SqliteStoreOptions> = {}) => {
    const store = openSqliteStore({ file, prefix: PREFIX, ...options });
    opened.push(store);
    return store;
  };
  /** A plain connection, to see the file as it is. */
  const withRaw = <T>(use: (raw: Database.Database) => T): T => {
    const raw = new Database(file);
    try {
      return use(raw);
    } finally {
      raw.close();
    }
  };
  const countRows = (table: string) => withRaw((raw) => raw.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-sqlite-"));
    file = join(dir, "ephemera.sqlite");
    opened = [];
  });
  afterEach(async () => {
    for (const store of opened) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps everything across a restart", async () => {
    const before = open();
    await before.recordIntent(key, refresh("t1"), { deliveryId: "d-1", keyTtlMs: HOUR });
    await before.acquireLease(key, "lease", "w", HOUR);
    await before.commit(key, { name: "lease", owner: "w" }, { set: { status: "ready" }, events: [{ at: "t2", event: "ready" }], dueAt: Date.now() + HOUR, keyTtlMs: HOUR });
    await before.admit(key, 1, { perRepo: 1, global: 1 });
    await before.setMeta("cursor", "abc", null);
    const snapshot = await before.load(key);
    await before.close();

    const after = open();
    expect(await after.load(key)).toEqual(snapshot);
    expect(await after.recordIntent(key, refresh("t1"), { deliveryId: "d-1", keyTtlMs: HOUR })).toBe("duplicate");
    expect(await after.acquireLease(key, "lease", "someone-else", HOUR)).toBe(false);
    expect(await after.admissionCounts()).toEqual({ active: 1, queued: 0 });
    expect(await after.getMeta("cursor")).toBe("abc");
  });

  it("keeps what another process wrote after that process exits", async () => {
    const writer = storeProcess(file, `
      await store.recordIntent(${JSON.stringify(key)}, { type: "refresh", at: "from-child" }, { keyTtlMs: ${HOUR} });
      await store.setMeta("written-by", "child", null);`);
    await writer.ready;
    await writer.go();
    const store = open();
    expect((await store.load(key))?.inbox).toEqual([refresh("from-child")]);
    expect(await store.getMeta("written-by")).toBe("child");
  });

  it("loses no intent when two processes record at once", async () => {
    const writers = ["a", "b"].map((tag) =>
      storeProcess(file, `
        const start = Date.now();
        for (let i = 0; i < 200; i += 1) {
          await store.recordIntent(${JSON.stringify(key)}, { type: "refresh", at: "${tag}" + i }, { keyTtlMs: ${HOUR} });
        }
        process.stdout.write(JSON.stringify([start, Date.now()]));`),
    );
    await Promise.all(writers.map((writer) => writer.ready));
    const windows = (await Promise.all(writers.map((writer) => writer.go()))).map((out) => JSON.parse(out) as [number, number]);
    const inbox = (await open().load(key))?.inbox.map((intent) => intent.at);
    expect(new Set(inbox).size).toBe(400);
    // They really wrote at the same time: each started before the other finished.
    expect(Math.max(...windows.map(([start]) => start))).toBeLessThan(Math.min(...windows.map(([, end]) => end)));
  });

  it("hides expired rows from every read before the sweep deletes them", async () => {
    let clock = Date.parse("2026-01-01T00:00:00.000Z");
    const store = open({ now: () => clock });
    await store.recordIntent(key, refresh("t1"), { deliveryId: "d-1", keyTtlMs: 1000 });
    await store.acquireLease(key, "lease", "w", 1000);
    await store.commit(key, { name: "lease", owner: "w" }, { set: { status: "ready" }, events: [{ at: "t2", event: "ready" }], dueAt: clock, keyTtlMs: 1000 });
    await store.setMeta("short", "x", 1000);
    clock += 1000;

    expect(await store.load(key)).toBeNull();
    expect(await store.exportKeys(key)).toEqual([]);
    expect(await store.listKeys()).toEqual([]);
    expect(await store.listRepos()).toEqual([]);
    expect(await store.getMeta("short")).toBeNull();
    // inbox, lease, status, events; the delivery id and its set; meta; due
    const stored = { env_keys: 4, deliveries: 1, delivery_sets: 1, kv: 1, due: 1 };
    expect(Object.fromEntries(Object.keys(stored).map((table) => [table, countRows(table)]))).toEqual(stored);

    expect(store.sweep()).toBe(8);
    expect(Object.keys(stored).map(countRows)).toEqual([0, 0, 0, 0, 0]);
  });

  it("records a delivery at a cost that does not grow with the ids remembered", async () => {
    const store = open();
    const small = { repoId: 8, pr: 1 };
    const large = { repoId: 8, pr: 2 };
    const window = 7 * 24 * HOUR;
    // Remembered ids, written as an import would (the test is about recording, not filling).
    const remembered = (n: number): Array<[string, number]> => Array.from({ length: n }, (_, i) => [`old-${i}`, Date.now() - HOUR + i]);
    await store.importKeys([
      { key: `${PREFIX}{8}:env:pr-1:deliveries`, value: remembered(10), ttlMs: window },
      { key: `${PREFIX}{8}:env:pr-2:deliveries`, value: remembered(5000), ttlMs: window },
    ]);

    // The statements a record runs find their rows by index, never by scanning the environment's ids.
    const plans = withRaw((raw) =>
      [
        "DELETE FROM deliveries WHERE repo_id = 1 AND pr = 1 AND at < 0",
        "INSERT INTO deliveries (repo_id, pr, id, at) VALUES (1, 1, 'x', 0) ON CONFLICT DO NOTHING",
        "SELECT expires_at FROM delivery_sets WHERE repo_id = 1 AND pr = 1",
      ].flatMap((statement) => (raw.prepare(`EXPLAIN QUERY PLAN ${statement}`).all() as Array<{ detail: string }>).map((row) => row.detail)),
    );
    expect(plans.join("\n")).not.toMatch(/^SCAN/m);
    expect(plans.join("\n")).toMatch(/deliveries_by_time \(repo_id=\? AND pr=\? AND at<\?\)/);

    // And in time: recording into 5,000 ids costs about what recording into 10 does (the best of a few rounds each, interleaved, against noise).
    const time = async (key: EnvKey, tag: string) => {
      // Sent in one turn, they share one transaction: the time is the statements', not the commits'.
      const start = process.hrtime.bigint();
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, i) => store.recordIntent(key, refresh(tag), { deliveryId: `${tag}-${i}`, keyTtlMs: window })),
      );
      const ns = Number(process.hrtime.bigint() - start);
      expect(new Set(outcomes)).toEqual(new Set(["recorded"]));
      return ns;
    };
    const smallNs: number[] = [];
    const largeNs: number[] = [];
    for (let round = 0; round < 4; round += 1) {
      smallNs.push(await time(small, `small-${round}`));
      largeNs.push(await time(large, `large-${round}`));
    }
    expect(Math.min(...largeNs)).toBeLessThan(3 * Math.min(...smallNs));
    expect(await store.recordIntent(large, refresh("again"), { deliveryId: "old-4999", keyTtlMs: window })).toBe("duplicate");
    expect(withRaw((raw) => raw.prepare("SELECT count(*) AS n FROM deliveries WHERE repo_id = 8 AND pr = 2").get())).toEqual({ n: 5000 + 800 });
  });

  it("moves the deliveries of a version 1 file to their own tables", async () => {
    const now = Date.now();
    withRaw((raw) => {
      raw.exec(`
        CREATE TABLE env_keys (repo_id INTEGER NOT NULL, pr INTEGER NOT NULL, part TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER,
          PRIMARY KEY (repo_id, pr, part)) STRICT, WITHOUT ROWID;
        CREATE TABLE due (repo_id INTEGER NOT NULL, pr INTEGER NOT NULL, due_at INTEGER NOT NULL, PRIMARY KEY (repo_id, pr)) STRICT, WITHOUT ROWID;
        CREATE INDEX due_by_time ON due (due_at);
        CREATE TABLE admission (repo_id INTEGER NOT NULL, pr INTEGER NOT NULL, arrival_at INTEGER NOT NULL,
          admitted INTEGER NOT NULL CHECK (admitted IN (0, 1)), PRIMARY KEY (repo_id, pr)) STRICT, WITHOUT ROWID;
        CREATE INDEX admission_by_arrival ON admission (admitted, arrival_at, repo_id, pr);
        CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) STRICT, WITHOUT ROWID;
        PRAGMA user_version = 1;`);
      const put = raw.prepare("INSERT INTO env_keys (repo_id, pr, part, value, expires_at) VALUES (?, ?, ?, ?, ?)");
      put.run(key.repoId, key.pr, "deliveries", JSON.stringify([["d-1", now - 2000], ["d-2", now - 1000]]), now + HOUR);
      put.run(key.repoId, key.pr, "status", "ready", now + HOUR);
      // A malformed one is dropped, not a reason to refuse to start.
      put.run(key.repoId, 43, "deliveries", "not json", now + HOUR);
      put.run(key.repoId, 44, "deliveries", JSON.stringify([["ok", now], "junk", [1, 2]]), null);
    });
    const store = open();
    withRaw((raw) => {
      expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.prepare("SELECT count(*) AS n FROM env_keys WHERE part = 'deliveries'").get()).toEqual({ n: 0 });
    });
    const deliveries = (await store.exportKeys(key)).find((entry) => entry.key.endsWith(":deliveries"));
    expect(deliveries?.value).toEqual([
      ["d-1", now - 2000],
      ["d-2", now - 1000],
    ]);
    expect(deliveries?.ttlMs).toBeGreaterThan(HOUR - 60_000);
    expect(await store.recordIntent(key, refresh("t1"), { deliveryId: "d-2", keyTtlMs: HOUR })).toBe("duplicate");
    expect(await store.recordIntent(key, refresh("t1"), { deliveryId: "d-3", keyTtlMs: HOUR })).toBe("recorded");
    expect(await store.exportKeys({ repoId: key.repoId, pr: 43 })).toEqual([]);
    expect(await store.exportKeys({ repoId: key.repoId, pr: 44 })).toEqual([{ key: `${PREFIX}{7}:env:pr-44:deliveries`, value: [["ok", now]], ttlMs: null }]);
    expect(await store.listKeys()).toEqual([key]);
  });

  it("writes ahead to a log and records its schema version", () => {
    open();
    withRaw((raw) => {
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    });
  });

  it("refuses a file written by a newer schema", () => {
    withRaw((raw) => raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
    expect(() => open()).toThrow(/schema version/);
  });
});
