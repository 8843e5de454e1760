import type Database from "better-sqlite3";

/**
 * The embedded store's tables. They hold what the Redis layout (DESIGN §3)
 * holds, in domain terms, so each port method is a few plain statements:
 *
 * - `env_keys`: one row per key of an environment, named by repository,
 *   PR and `part` (the last segment of its Redis key: `status`, `inbox`,
 *   `lease`…), with its own expiry, as each Redis key has its own TTL. A
 *   list (inbox, events) is one row holding a JSON array of its entries,
 *   each encoded as Redis stores it: a Redis list has one TTL, and one row
 *   gives it one expiry here, and `exportKeys` needs no reassembly. An
 *   append is a `json_insert` on the row, in SQLite, and the inbox is
 *   folded within seconds and the event log capped. The Redis
 *   per-repository set of environments is a query on this table's primary
 *   key here. Every part but `deliveries`, which has tables of its own.
 * - `delivery_sets` and `deliveries`: an environment's `deliveries` key (a
 *   Redis sorted set with one TTL), its expiry and one row per delivery id
 *   with the ms it was recorded, indexed by that time so that forgetting
 *   the ids older than the window costs what is forgotten (deliveries.ts).
 *   Version 1 kept the set as an `env_keys` row holding the JSON array of
 *   its [id, ms] pairs, rewritten on every delivery; version 2 moves such
 *   rows here (a malformed one, or pair, is dropped: at worst one
 *   redelivery is recorded again).
 * - `due`: when each environment is next due, indexed by time, so claiming
 *   costs what is due and not what is stored.
 * - `admission`: every environment holding or waiting for a place, with its
 *   first arrival.
 * - `replicas`: the replica registry (lifecycle/replicas.ts), one row per
 *   registered process, with when it was last seen and when its entry
 *   lapses. Version 3 adds it; a release that knows only version 2 then
 *   refuses to open the file (see `migrate`), which is what the registry
 *   asks of it anyway.
 * - `kv`: other keys with an expiry (meta values), under their Redis key
 *   names. (Delivery markers of earlier versions, one row per delivery,
 *   expire here by themselves.)
 *
 * The database file is the namespace; the key prefix appears only in
 * names (kv keys, exported keys). Times are ms since the epoch;
 * `expires_at` NULL means never. STRICT makes a wrongly typed write fail
 * instead of being stored.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE env_keys (
    repo_id INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    part TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (repo_id, pr, part)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE due (
    repo_id INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    PRIMARY KEY (repo_id, pr)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX due_by_time ON due (due_at);

  CREATE TABLE admission (
    repo_id INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    arrival_at INTEGER NOT NULL,
    admitted INTEGER NOT NULL CHECK (admitted IN (0, 1)),
    PRIMARY KEY (repo_id, pr)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX admission_by_arrival ON admission (admitted, arrival_at, repo_id, pr);

  CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at INTEGER
  ) STRICT, WITHOUT ROWID;
  `,
  `
  CREATE TABLE delivery_sets (
    repo_id INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (repo_id, pr)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE deliveries (
    repo_id INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    id TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (repo_id, pr, id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX deliveries_by_time ON deliveries (repo_id, pr, at);

  INSERT INTO deliveries (repo_id, pr, id, at)
    SELECT env_keys.repo_id, env_keys.pr, pair.value ->> 0, pair.value ->> 1
    FROM env_keys, json_each(CASE WHEN json_valid(env_keys.value) THEN env_keys.value ELSE '[]' END) AS pair
    WHERE env_keys.part = 'deliveries'
      AND CASE WHEN pair.type = 'array' THEN json_type(pair.value, '$[0]') = 'text' AND json_type(pair.value, '$[1]') IN ('integer', 'real') ELSE 0 END
    ON CONFLICT DO UPDATE SET at = max(at, excluded.at);
  INSERT INTO delivery_sets (repo_id, pr, expires_at)
    SELECT DISTINCT repo_id, pr, (SELECT expires_at FROM env_keys AS old WHERE old.repo_id = deliveries.repo_id AND old.pr = deliveries.pr AND old.part = 'deliveries')
    FROM deliveries;
  DELETE FROM env_keys WHERE part = 'deliveries';
  `,
  `
  CREATE TABLE replicas (
    owner TEXT PRIMARY KEY,
    protocol INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
];

/** The schema version this code writes, kept in the file's `user_version`. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the file up to SCHEMA_VERSION. In an immediate transaction, so two
 * processes opening a new file at once create the tables once.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `${db.name} has schema version ${version} but this Ephemera knows only up to ${SCHEMA_VERSION}: run the newer Ephemera that wrote it, or point EPHEMERA_DATA_DIR elsewhere`,
      );
    }
    for (const ddl of MIGRATIONS.slice(version)) db.exec(ddl);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
