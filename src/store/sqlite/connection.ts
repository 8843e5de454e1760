import Database from "better-sqlite3";
import { migrate } from "./schema.js";

/** A row is alive until its `expires_at`, as a Redis key is until its TTL; binds `@now`. */
export const LIVE = "(expires_at IS NULL OR expires_at > @now)";

/** The prepared statement for a SQL text, prepared once per connection. */
export type Sql = <Row = unknown>(source: string) => Database.Statement<unknown[], Row>;

/**
 * Opens (creating if needed) the database file, configured for several
 * connections, in this process or others, sharing it.
 */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  try {
    // Set first: a connection that finds the write lock taken waits this long instead of failing.
    db.pragma("busy_timeout = 5000");
    // WAL: readers never block the writer, nor the writer them.
    if (db.pragma("journal_mode = WAL", { simple: true }) !== "wal") {
      throw new Error(`${file} cannot use write-ahead logging: put EPHEMERA_DATA_DIR on a local disk`);
    }
    // With WAL, NORMAL syncs at checkpoints, not at every commit. A process
    // crash loses nothing committed (the WAL is already in the OS); only an OS
    // crash or power cut may lose the last transactions, never corrupt the
    // file, and the start-up resync with GitHub repairs what they held.
    db.pragma("synchronous = NORMAL");
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function statementCache(db: Database.Database): Sql {
  const prepared = new Map<string, Database.Statement>();
  return <Row>(source: string) => {
    let statement = prepared.get(source);
    if (!statement) {
      statement = db.prepare(source);
      prepared.set(source, statement);
    }
    return statement as Database.Statement<unknown[], Row>;
  };
}

/** The row a query that always returns one (an aggregate, a row just written) returned. */
export function single<Row>(row: Row | undefined): Row {
  if (row === undefined) throw new Error("a query that always returns a row returned none");
  return row;
}
