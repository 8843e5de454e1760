import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { readdirSync } from "node:fs";
import pg from "pg";
import type { BenchContext } from "./context.js";

export const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * The shared PostgreSQL (127.0.0.1:5432, trust auth) as the bench uses it.
 * Everything it creates carries this run's tag (`ephbench_<tag>_…`) or, for
 * what Ephemera's provider creates, the name the provider derives from a
 * repository id picked at random for this run (`eph_<repoId>_pr<n>`);
 * `dispose` drops exactly those names and nothing else.
 */
export interface BenchPostgres {
  readonly admin: pg.Pool;
  /** The template database environments are cloned from. */
  readonly templateDb: string;
  /** The repository id whose environments the provider names `eph_<repoId>_pr<n>`. */
  readonly repoId: number;
  /** A name of this run's for the floor's n-th database and role. */
  floorName(n: number): string;
  /** Records a name created (by the bench or by Ephemera for the bench) so `dispose` drops it. */
  track(name: string): void;
  dispose(): Promise<void>;
}

/** Rows of a seed table in the template: something to copy, as an app's seed data would be. */
const SEED_ROWS = 10_000;

export async function openBenchPostgres(ctx: BenchContext): Promise<BenchPostgres> {
  await ensurePostgres(ctx);
  const tag = randomBytes(4).toString("hex");
  const admin = new pg.Pool({ connectionString: ADMIN_URL, max: 2 });
  const created = new Set<string>();
  const templateDb = `ephbench_${tag}_tpl`;
  const bench: BenchPostgres = {
    admin,
    templateDb,
    repoId: randomInt(1_000_000_000, 2_000_000_000),
    floorName: (n) => `ephbench_${tag}_f${n}`,
    track: (name) => void created.add(name),
    async dispose() {
      for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      for (const name of created) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
      await admin.end();
    },
  };
  bench.track(templateDb);
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(templateDb)}`);
  const seed = new pg.Client({ connectionString: urlFor(templateDb) });
  await seed.connect();
  try {
    await seed.query("CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())");
    await seed.query("INSERT INTO customers (name, email) SELECT 'customer ' || i, 'customer' || i || '@example.test' FROM generate_series(1, $1) AS i", [SEED_ROWS]);
    await seed.query("CREATE INDEX customers_email ON customers (email)");
  } finally {
    // A template cannot be cloned while anyone is connected to it.
    await seed.end();
  }
  return bench;
}

/**
 * Databases and roles that Ephemera's start-up orphan audit would take for
 * its own (`eph_<digits>_pr<digits>`, the provider's default prefix) and
 * remove unless its store claims them. The bench's Ephemera starts with an
 * empty store, so it only starts when there are none: it must not remove
 * another instance's environments from the shared server.
 */
export async function auditableNames(admin: pg.Pool): Promise<string[]> {
  const pattern = "^eph_[1-9][0-9]*_pr[1-9][0-9]*$";
  const { rows } = await admin.query<{ name: string }>(
    "SELECT datname AS name FROM pg_database WHERE datname ~ $1 UNION SELECT rolname FROM pg_roles WHERE rolname ~ $1",
    [pattern],
  );
  return rows.map((row) => row.name);
}

export function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.href;
}

/** Starts the local cluster as .ci/run does when nothing answers on 5432 (CI images have it installed, stopped). */
async function ensurePostgres(ctx: BenchContext): Promise<void> {
  if (isReady()) return;
  const versions = readdirSync("/etc/postgresql", { withFileTypes: true }).filter((entry) => entry.isDirectory());
  const version = versions[0]?.name;
  if (!version) throw new Error("PostgreSQL is not running on 127.0.0.1:5432 and no cluster is installed under /etc/postgresql");
  ctx.progress(`starting PostgreSQL ${version} (nothing answered on 127.0.0.1:5432)`);
  execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "start"], { stdio: "inherit" });
  for (let i = 0; i < 30 && !isReady(); i++) await new Promise((done) => setTimeout(done, 1000));
  if (!isReady()) throw new Error("PostgreSQL did not come up on 127.0.0.1:5432 within 30 s");
}

function isReady(): boolean {
  try {
    execFileSync("pg_isready", ["-h", "127.0.0.1", "-p", "5432", "-q"]);
    return true;
  } catch {
    return false;
  }
}
