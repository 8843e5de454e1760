import { join } from "node:path";
import type { EnvKey, Status } from "../../lifecycle/environment.js";
import { decodeEvent, decodeField, decodeFields, decodeIntent, decodeShown, encodeEvent, encodeFields, encodeIntent, encodeShown } from "../field-codec.js";
import { makeKeys } from "../keys.js";
import { EVENT_LOG_LIMIT, FIELD_NAMES, type LeaseName, type StateStore } from "../../lifecycle/state-store.js";
import { toIso } from "../../lifecycle/ttl.js";
import { TurnBatch, type Outcome } from "../turn-batch.js";
import { admission } from "./admission.js";
import { LIVE, openDatabase, statementCache } from "./connection.js";
import { dueIndex } from "./due-index.js";
import { deliveries } from "./deliveries.js";
import { DATA, decodeList, envKeys, type ListPart } from "./env-keys.js";
import { exportedKeys } from "./exported-keys.js";
import { readBucket, takeFrom } from "./token-bucket.js";

/**
 * The embedded StateStore: one SQLite file that any number of connections,
 * in this process or others, share safely. better-sqlite3 is synchronous;
 * each method runs to completion before the next, and a method that changes
 * several rows does so in one transaction.
 */

/** The database file inside EPHEMERA_DATA_DIR. */
const DATABASE_FILE = "ephemera.sqlite";
/** How often expired rows are deleted; every read ignores them meanwhile. */
const SWEEP_INTERVAL_MS = 60_000;

export type SqliteStoreOptions = ({ dataDir: string } | { file: string }) & {
  prefix: string;
  /** The clock (ms since the epoch), for tests that move time. */
  now?: () => number;
  /** Receives errors no caller sees (a failed background sweep; the next one retries). */
  onError?: (error: unknown) => void;
};

export interface SqliteStore extends StateStore {
  readonly kind: "sqlite";
  /** Deletes expired rows now, as the periodic sweep does; returns how many. */
  sweep(): number;
}

/** An intent waiting for its turn's batch, encoded. */
interface PendingIntent {
  key: EnvKey;
  encoded: string;
  deliveryId: string | undefined;
  keyTtlMs: number;
}

/** Opens the store; `dataDir` must exist. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const db = openDatabase("file" in options ? options.file : join(options.dataDir, DATABASE_FILE));
  const sql = statementCache(db);
  const now = options.now ?? Date.now;
  const keys = makeKeys(options.prefix);
  const env = envKeys(sql);
  const due = dueIndex(sql);
  const queue = admission(sql);
  const delivered = deliveries(sql);
  const exported = exportedKeys(keys, env, delivered, due);
  // Immediate: a read-modify-write takes the write lock before reading, so
  // two connections queue (busy_timeout) instead of one failing at commit.
  const write = <T>(work: () => T): T => db.transaction(work).immediate();
  // Deferred: several reads see one snapshot.
  const read = <T>(work: () => T): T => db.transaction(work)();

  /** Writes a `kv` row; with `ifAbsent`, only where no live one is. Returns whether it wrote. */
  const setKv = (key: string, value: string, expiresAt: number | null, ifAbsent = false) =>
    sql(
      `INSERT INTO kv (key, value, expires_at) VALUES (@key, @value, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at ${ifAbsent ? `WHERE NOT ${LIVE}` : ""}`,
    ).run({ key, value, expiresAt, now: now() }).changes === 1;

  /** Removes the replica registry's entries that have lapsed (their replicas died without removing them); returns how many. */
  const dropLapsedReplicas = (at: number) => sql(`DELETE FROM replicas WHERE expires_at <= @now`).run({ now: at }).changes;

  /** A lease is the owner's token with an expiry; "take" also takes a free one, "renew" only extends. */
  const holdLease = (key: EnvKey, name: LeaseName, owner: string, ttlMs: number, mode: "take" | "renew") =>
    write(() => {
      const at = now();
      const holder = env.get(key, name, at)?.value;
      if (holder !== owner && !(mode === "take" && holder === undefined)) return false;
      env.put(key, name, owner, at + ttlMs);
      return true;
    });

  /** One intent, in a savepoint of the batch's transaction (better-sqlite3 nests them so): a failure undoes only its own rows. */
  const recordOne = db.transaction(({ key, encoded, deliveryId, keyTtlMs }: PendingIntent): "recorded" | "duplicate" => {
    const at = now();
    const expiresAt = at + keyTtlMs;
    env.purgeExpired(key, at);
    if (deliveryId !== undefined && !delivered.remember(key, deliveryId, at, keyTtlMs)) return "duplicate";
    env.appendList(key, "inbox", encoded, expiresAt);
    due.bringForward(key, at);
    return "recorded";
  });
  // The intents recorded in one turn of the event loop share one transaction: one commit, one WAL write (see TurnBatch).
  const recordBatch = (batch: PendingIntent[]) =>
    write(() =>
      batch.map((pending): Outcome<"recorded" | "duplicate"> => {
        try {
          return { value: recordOne(pending) };
        } catch (error) {
          return { error };
        }
      }),
    );
  const intents = new TurnBatch(recordBatch);

  const sweep = () =>
    write(() => {
      const params = { now: now() };
      return (
        sql(`DELETE FROM env_keys WHERE NOT ${LIVE}`).run(params).changes +
        sql(`DELETE FROM kv WHERE NOT ${LIVE}`).run(params).changes +
        dropLapsedReplicas(params.now) +
        delivered.sweep(params.now) +
        due.forgetVanished()
      );
    });
  const timer = setInterval(() => {
    try {
      sweep();
    } catch (error) {
      options.onError?.(error);
    }
  }, SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    kind: "sqlite",
    sweep,

    async recordIntent(key, intent, { deliveryId, keyTtlMs }) {
      return intents.add({ key, encoded: encodeIntent(intent), deliveryId, keyTtlMs });
    },

    async load(key) {
      return read(() => {
        const rows = new Map(env.live(key, now()).map((row) => [row.part, row.value]));
        if (rows.size === 0) return null;
        const shown = rows.get("github");
        const list = (part: ListPart) => {
          const raw = rows.get(part);
          return raw === undefined ? [] : decodeList(raw, part);
        };
        return {
          key,
          fields: decodeFields(Object.fromEntries(FIELD_NAMES.map((name) => [name, rows.get(name)]))),
          inbox: list("inbox").map(decodeIntent),
          events: list("events").map(decodeEvent),
          dueAt: due.get(key),
          ...(shown === undefined ? {} : { shown: decodeShown(shown) }),
        };
      });
    },

    async acquireLease(key, name, owner, ttlMs) {
      return holdLease(key, name, owner, ttlMs, "take");
    },

    async renewLease(key, name, owner, ttlMs) {
      return holdLease(key, name, owner, ttlMs, "renew");
    },

    async releaseLease(key, name, owner) {
      write(() => {
        // An expired lease is not ours to delete: it may be gone already, or taken.
        if (env.get(key, name, now())?.value === owner) env.remove(key, name);
      });
    },

    async commit(key, fence, { set = {}, consumed = 0, events = [], dueAt, keyTtlMs }) {
      return write(() => {
        const at = now();
        if (env.get(key, fence.name, at)?.value !== fence.owner) return "fenced";
        const expiresAt = at + keyTtlMs;
        env.purgeExpired(key, at);
        for (const [field, value] of encodeFields(set)) env.put(key, field, value, expiresAt);
        if (consumed > 0) env.editList(key, "inbox", at, expiresAt, (inbox) => inbox.slice(consumed));
        if (events.length > 0) {
          env.editList(key, "events", at, expiresAt, (log) => [...log, ...events.map(encodeEvent)].slice(-EVENT_LOG_LIMIT));
        }
        env.expireAll(key, expiresAt);
        // An intent recorded since the reconciler loaded marked it due now; a later due time must not undo that.
        due.replace(key, env.get(key, "inbox", at) ? Math.min(dueAt ?? at, at) : dueAt);
        return "committed";
      });
    },

    async recordShown(key, fence, shown) {
      return write(() => {
        const at = now();
        const holder = env.get(key, fence.name, at);
        if (holder?.value !== fence.owner) return "fenced";
        // The environment's TTL, as commit sets it on every data key (and extends this one's with them).
        const expiresAt = env.get(key, "status", at)?.expires_at ?? holder.expires_at;
        env.put(key, "github", encodeShown(shown), expiresAt);
        return "committed";
      });
    },

    async claimDue(at, limit, hideMs) {
      return write(() => due.claim(at, limit, hideMs));
    },

    async markDue(key, at) {
      due.bringForward(key, at);
    },

    async listKeys(repoId) {
      const ofRepo = repoId === undefined ? "" : "AND repo_id = @repoId";
      return sql<EnvKey>(`SELECT DISTINCT repo_id AS repoId, pr FROM env_keys WHERE ${LIVE} AND ${DATA} ${ofRepo} ORDER BY repo_id, pr`).all({
        repoId,
        now: now(),
      });
    },

    async listRepos() {
      const rows = sql<{ repoId: number }>(`SELECT DISTINCT repo_id AS repoId FROM env_keys WHERE ${LIVE} AND ${DATA} ORDER BY repo_id`).all({ now: now() });
      return rows.map((row) => row.repoId);
    },

    async admit(key, arrivalAt, limits) {
      return write(() => queue.admit(key, arrivalAt, limits));
    },

    async releaseAdmission(key) {
      return write(() => queue.release(key));
    },

    async admissionCounts() {
      return queue.counts();
    },

    async countByStatus() {
      const rows = sql<{ status: string; count: number }>(
        `SELECT value AS status, count(*) AS count FROM env_keys WHERE part = 'status' AND ${LIVE} GROUP BY value`,
      ).all({ now: now() });
      const counts: Partial<Record<Status, number>> = {};
      for (const { status, count } of rows) counts[decodeField("status", status)] = count;
      return counts;
    },

    async oldestDue() {
      return due.earliest();
    },

    async exportKeys(key) {
      return exported.read(key, now());
    },

    async importKeys(entries) {
      write(() => exported.write(entries, now()));
    },

    async getMeta(name) {
      return sql<{ value: string }>(`SELECT value FROM kv WHERE key = @key AND ${LIVE}`).get({ key: keys.meta(name), now: now() })?.value ?? null;
    },

    async setMeta(name, value, ttlMs) {
      setKv(keys.meta(name), value, ttlMs === null ? null : now() + ttlMs);
    },

    async claimMeta(name, value, ttlMs) {
      return setKv(keys.meta(name), value, now() + ttlMs, true);
    },

    async takeToken(bucket, limit) {
      const key = keys.bucket(bucket);
      return write(() => {
        const at = now();
        const stored = sql<{ value: string }>(`SELECT value FROM kv WHERE key = @key AND ${LIVE}`).get({ key, now: at })?.value;
        const { next, waitMs, ttlMs } = takeFrom(readBucket(stored), limit, at);
        setKv(key, JSON.stringify(next), at + ttlMs);
        return waitMs;
      });
    },

    async registerReplica({ owner, protocol, startedAt }, ttlMs) {
      write(() => {
        const at = now();
        dropLapsedReplicas(at);
        sql(
          `INSERT INTO replicas (owner, protocol, started_at, last_seen_at, expires_at) VALUES (@owner, @protocol, @startedAt, @at, @expiresAt)
           ON CONFLICT (owner) DO UPDATE SET protocol = excluded.protocol, started_at = excluded.started_at, last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at`,
        ).run({ owner, protocol, startedAt, at, expiresAt: at + ttlMs });
      });
    },

    async listReplicas() {
      const rows = sql<{ owner: string; protocol: number; startedAt: string; lastSeenAt: number }>(
        `SELECT owner, protocol, started_at AS startedAt, last_seen_at AS lastSeenAt FROM replicas WHERE expires_at > @now ORDER BY started_at, owner`,
      ).all({ now: now() });
      return rows.map((row) => ({ ...row, lastSeenAt: toIso(row.lastSeenAt) }));
    },

    async removeReplica(owner) {
      sql(`DELETE FROM replicas WHERE owner = @owner`).run({ owner });
    },

    async ping() {
      sql("SELECT 1").get();
    },

    async close() {
      clearInterval(timer);
      db.close();
    },
  };
}
