import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { readdirSync } from "node:fs";
import pg from "pg";
import type { BenchContext } from "./context.js";

export const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * The shared PostgreSQL (127.0.0.1:5432, trust auth) as the bench uses it.
 * Everything it creates carries this run's tag: its own names
 * (`ephbench_<tag>_…`) and, through `EPHEMERA_POSTGRES_PREFIX`, the names
 * Ephemera's provider creates (`ephbench_<tag>_e_<repoId>_pr<n>`), so
 * Ephemera's orphan audit sees only this run's; `dispose` drops exactly those
 * names and nothing else.
 */
export interface BenchPostgres {
  readonly admin: pg.Pool;
  /** The template database environments are cloned from. */
  readonly templateDb: string;
  /** The repository id the bench's PRs are in. */
  readonly repoId: number;
  /** `EPHEMERA_POSTGRES_PREFIX` for the bench's Ephemera. */
  readonly providerPrefix: string;
  /** The name the provider gives the database and role of a PR of `repoId`. */
  providerName(pr: number): string;
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
    providerPrefix: `ephbench_${tag}_e_`,
    providerName: (pr) => `ephbench_${tag}_e_${bench.repoId}_pr${pr}`,
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
