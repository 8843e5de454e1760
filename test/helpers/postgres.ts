import { randomBytes } from "node:crypto";
import pg from "pg";
import type { ProviderLogger, StepContext } from "../../src/lifecycle/provider.js";

/**
 * The shared PostgreSQL (127.0.0.1:5432, trust auth) seen by one test file.
 * Everything the file creates is named with a random tag of its own, and
 * `dispose` drops only names carrying that tag, so tests never touch what
 * they did not create, and files can run side by side.
 */

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestPostgres {
  readonly adminUrl: string;
  /** A provider prefix for this file alone: `eph_t<random>_`. */
  readonly prefix: string;
  /** A name with this file's tag but not its prefix: what the audit must leave alone. */
  readonly foreignName: string;
  readonly admin: pg.Pool;
  /** `adminUrl` pointed at another database, as another user. */
  urlFor(database: string, user?: string): string;
  /** A database (owned by the admin) with a table `seed(id int, name text)` holding `rows`. */
  createSeededDatabase(name: string, rows: readonly string[]): Promise<void>;
  /** A connected client; ended by `dispose` if the test has not ended it. */
  connect(url: string): Promise<pg.Client>;
  dispose(): Promise<void>;
}

export function openTestPostgres(): TestPostgres {
  const tag = `t${randomBytes(5).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: ADMIN_URL, max: 2 });
  const clients: pg.Client[] = [];

  const urlFor = (database: string, user = "postgres") => {
    const url = new URL(ADMIN_URL);
    url.username = user;
    url.pathname = `/${database}`;
    return url.href;
  };
  const connect = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    // A test may drop the database under it: the termination must not crash the run.
    client.on("error", () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };

  return {
    adminUrl: ADMIN_URL,
    prefix: `eph_${tag}_`,
    foreignName: `other_${tag}`,
    admin,
    urlFor,
    connect,
    async createSeededDatabase(name, rows) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      const client = await connect(urlFor(name));
      await client.query("CREATE TABLE seed (id serial PRIMARY KEY, name text NOT NULL)");
      for (const row of rows) await client.query("INSERT INTO seed (name) VALUES ($1)", [row]);
      // A template cannot be cloned while anyone is connected to it.
      await client.end();
    },
    async dispose() {
      await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
      const { rows: databases } = await admin.query<{ name: string }>(
        "SELECT datname AS name FROM pg_database WHERE strpos(datname, $1) > 0",
        [tag],
      );
      for (const { name } of databases) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      const { rows: roles } = await admin.query<{ name: string }>("SELECT rolname AS name FROM pg_roles WHERE strpos(rolname, $1) > 0", [tag]);
      for (const { name } of roles) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
      await admin.end();
    },
  };
}

/** What a provider's step is told for PR `pr` of repository `repoId`, in setup, with no earlier outputs. */
export function setupContext(repoId: number, pr: number, log: ProviderLogger): StepContext {
  return {
    repo: "octo/app",
    repoId,
    pr,
    sha: "a".repeat(40),
    ref: "feature",
    expiresAt: "2030-01-01T00:00:00.000Z",
    phase: "setup",
    outputs: {},
    secrets: {},
    signal: new AbortController().signal,
    log,
  };
}
