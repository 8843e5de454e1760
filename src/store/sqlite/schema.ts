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
 *   append rewrites the row, which is cheap because the inbox is folded
 *   within seconds and the event log is capped. The `deliveries` row (a
 *   Redis sorted set) is the JSON array of its [delivery id, ms] pairs. The
 *   Redis per-repository set of environments is a query on this table's
 *   primary key here.
 * - `due`: when each environment is next due, indexed by time, so claiming
 *   costs what is due and not what is stored.
 * - `admission`: every environment holding or waiting for a place, with its
 *   first arrival.
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
