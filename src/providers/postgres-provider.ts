import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import pg from "pg";
import { z } from "zod";
import { ConfigError } from "../config/config-error.js";
import { DEFAULT_POSTGRES_PREFIX, POSTGRES_PREFIX_PATTERN } from "../config/postgres-prefix.js";
import type { EnvKey } from "../lifecycle/environment.js";
import {
  StepFailedError,
  throwIfAborted,
  type OwnedResource,
  type Provider,
  type ProviderLogger,
  type ResourceOwner,
  type StepContext,
  type StepOutcome,
  type StepSpec,
} from "../lifecycle/provider.js";

/**
 * `uses: postgres`: one database and one login role per environment, both
 * named `<prefix><repoId>_pr<n>` from numeric ids only, so nothing from a PR
 * reaches SQL and the audit can read a name back to its environment. The
 * role owns its database and is the only one that may connect to it: CONNECT
 * is revoked from PUBLIC on every database made here and on every template
 * database cloned (a role could otherwise read the seed data, or plant an
 * object in the template that every later clone would carry).
 *
 * DDL takes no parameters, so every identifier goes through
 * `escapeIdentifier` and the password through `escapeLiteral`, and only as
 * its SCRAM verifier: the plain password never reaches the server, whose
 * log (every failed statement is logged with its text) or
 * `pg_stat_activity` would otherwise show it.
 */

/** `with:` of a postgres step. */
export const postgresWithSchema = z
  .object({
    /** A database to clone (`CREATE DATABASE … TEMPLATE`), e.g. one holding seed data. */
    template: z.string().min(1).optional(),
  })
  .strict();

/** SQLSTATEs a retry cannot fix: the template database is missing, the admin lacks a privilege. */
const TERMINAL_CODES = new Set(["3D000", "42501"]);
const ROLE_EXISTS = "SELECT 1 FROM pg_roles WHERE rolname = $1";
const DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = $1";
const PUBLIC_CAN_CONNECT = "SELECT has_database_privilege('public', datname, 'CONNECT') AS open FROM pg_database WHERE datname = $1";
/** The databases other than its own where the role owns objects or holds privileges: `DROP ROLE` refuses while there are any. */
const ROLE_DEPENDENT_DATABASES = `
  SELECT DISTINCT d.datname AS name
    FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
   WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)
   ORDER BY 1`;

/**
 * In a database cloned from a template, the schemas and relations that the
 * template's owner owns, so they can be handed to the environment's role
 * (an app must be able to migrate its seed tables). Left alone: schemas owned
 * by `pg_database_owner` (already the role), extension members, and
 * sequences owned by a column (they follow their table).
 */
const HANDOVER_QUERY = `
  SELECT 'SCHEMA' AS kind, NULL AS schema, n.nspname AS name
    FROM pg_namespace n
   WHERE NOT starts_with(n.nspname, 'pg_') AND n.nspname <> 'information_schema'
     AND pg_get_userbyid(n.nspowner) NOT IN ($1, 'pg_database_owner')
  UNION ALL
  SELECT 'TABLE', n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
     AND NOT starts_with(n.nspname, 'pg_') AND n.nspname <> 'information_schema'
     AND pg_get_userbyid(c.relowner) <> $1
     AND NOT EXISTS (
       SELECT FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))`;

/** Databases sort before roles: a role that owns a database cannot be dropped before it. */
const OWNED_QUERY = `
  SELECT 'database' AS kind, datname AS name FROM pg_database WHERE starts_with(datname, $1)
  UNION ALL
  SELECT 'role', rolname FROM pg_roles WHERE starts_with(rolname, $1)
  ORDER BY kind, name`;

export interface PostgresProviderOptions {
  /** The admin connection (EPHEMERA_POSTGRES_URL): needs CREATEDB and CREATEROLE. */
  readonly adminUrl: string;
  /**
   * Where steps reach PostgreSQL (EPHEMERA_POSTGRES_STEP_URL): the host and
   * port of the URLs issued to them; default the admin URL's. Step isolation
   * blocks the admin endpoint, so a step that must use its database needs
   * the server on another address (a listener with password auth, a pooler).
   */
  readonly stepUrl?: string | undefined;
  /** Default `eph_`. */
  readonly prefix?: string;
  /** For what happens outside a step: the admin pool's connection errors. */
  readonly log: ProviderLogger;
}

const id = (name: string) => pg.escapeIdentifier(name);

export class PostgresProvider implements Provider, ResourceOwner {
  readonly name = "postgres";
  private readonly prefix: string;
  private readonly namePattern: RegExp;
  private readonly adminUrl: URL;
  private readonly stepUrl: URL;
  private readonly pool: pg.Pool;

  constructor(options: PostgresProviderOptions) {
    this.prefix = options.prefix ?? DEFAULT_POSTGRES_PREFIX;
    if (!POSTGRES_PREFIX_PATTERN.test(this.prefix)) {
      throw new Error(`postgres name prefix "${this.prefix}" must be lower-case letters, digits and "_", start with a letter, end with "_", at most 24 characters`);
    }
    // The prefix holds no regular-expression metacharacters (checked above).
    this.namePattern = new RegExp(`^${this.prefix}([1-9][0-9]*)_pr([1-9][0-9]*)$`);
    this.adminUrl = new URL(options.adminUrl);
    this.stepUrl = new URL(options.stepUrl ?? options.adminUrl);
    this.pool = new pg.Pool({ connectionString: options.adminUrl, max: 2, connectionTimeoutMillis: 10_000 });
    // Without a listener an idle connection's error (a server restart) would crash the process.
    this.pool.on("error", (error) => options.log.warn({ err: error }, "an idle PostgreSQL admin connection failed; the pool replaces it"));
  }

  async create(step: StepSpec, ctx: StepContext): Promise<StepOutcome> {
    const { template } = parseWith(step);
    throwIfAborted(step, ctx.signal);
    const name = this.nameFor(ctx);
    // Fresh on every run: the password of an attempt that crashed before its checkpoint was never stored.
    const password = randomBytes(24).toString("base64url");
    const created = await this.inStep(step, () => this.ensure(name, password, template));
    ctx.log.info({ step: step.name, database: name, template, created }, created ? "postgres database created" : "postgres database already existed");

    const url = new URL(this.stepUrl);
    url.username = name;
    url.password = password;
    url.pathname = `/${name}`;
    // The given URL's parameters are its owner's business (one could carry the admin's password).
    url.search = "";
    return {
      outputs: { database: name, role: name, host: url.hostname, port: url.port || "5432" },
      secrets: { url: url.href, password },
    };
  }

  async destroy(step: StepSpec, ctx: StepContext): Promise<void> {
    const name = this.nameFor(ctx);
    await this.inStep(step, async () => {
      await this.dropDatabase(name);
      await this.dropRole(name);
    });
    ctx.log.info({ step: step.name, database: name }, "postgres database and role dropped");
  }

  /**
   * At start-up: closes every template database the operator config names to
   * PUBLIC, so no environment's role can connect to it. Throws the one line
   * an operator needs when the admin role is not allowed to (it is not the
   * database's owner or a superuser); a template that does not exist yet is
   * only warned about here, and fails its step when it is still missing.
   */
  async closeTemplates(names: readonly string[], log: ProviderLogger): Promise<void> {
    for (const name of new Set(names)) {
      if (!(await this.exists(DATABASE_EXISTS, name))) {
        log.warn({ template: name }, "the template database a postgres step names does not exist yet; its environments fail until it does");
        continue;
      }
      try {
        await this.closeToPublic(name);
      } catch (error) {
        if (error instanceof TemplateOpenError) throw new ConfigError("EPHEMERA_POSTGRES_URL", [error.message]);
        throw error;
      }
    }
  }

  async listOwned(): Promise<OwnedResource[]> {
    const { rows } = await this.pool.query<{ kind: string; name: string }>(OWNED_QUERY, [this.prefix]);
    return rows.map(({ kind, name }) => ({ provider: this.name, kind, name, env: this.parseName(name) }));
  }

  async removeOwned(resource: OwnedResource): Promise<void> {
    if (resource.provider !== this.name || this.parseName(resource.name) === null) {
      throw new Error(`refusing to remove ${resource.kind} "${resource.name}": it is not an environment's under the prefix "${this.prefix}"`);
    }
    if (resource.kind === "database") return this.dropDatabase(resource.name);
    if (resource.kind === "role") return this.dropRole(resource.name);
    throw new Error(`unknown postgres resource kind "${resource.kind}"`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private nameFor(env: EnvKey): string {
    if (!isPositiveId(env.repoId) || !isPositiveId(env.pr)) throw new Error(`not an environment key: ${JSON.stringify(env)}`);
    return `${this.prefix}${env.repoId}_pr${env.pr}`;
  }

  private parseName(name: string): EnvKey | null {
    const match = this.namePattern.exec(name);
    if (!match) return null;
    const env = { repoId: Number(match[1]), pr: Number(match[2]) };
    return isPositiveId(env.repoId) && isPositiveId(env.pr) ? env : null;
  }

  /** Role, password, database, privileges: each step converges whatever an earlier attempt left. Returns whether it created the database. */
  private async ensure(name: string, password: string, template: string | undefined): Promise<boolean> {
    if (!(await this.exists(ROLE_EXISTS, name))) await this.pool.query(`CREATE ROLE ${id(name)}`);
    await this.pool.query(`ALTER ROLE ${id(name)} WITH LOGIN PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`);
    const creating = !(await this.exists(DATABASE_EXISTS, name));
    if (template !== undefined) await this.closeToPublic(template);
    if (creating) {
      await this.pool.query(`CREATE DATABASE ${id(name)} OWNER ${id(name)}${template === undefined ? "" : ` TEMPLATE ${id(template)}`}`);
    }
    // The owner keeps its own CONNECT; nobody else gets one, other environments' roles included.
    await this.pool.query(`REVOKE ALL ON DATABASE ${id(name)} FROM PUBLIC`);
    await this.handOver(name);
    return creating;
  }

  /**
   * Looked up rather than caught as a duplicate: the server logs every failed
   * statement, and a re-run is normal. Two workers never race here, the
   * environment's lease sees to that; if they did, the loser's retry converges.
   */
  private async exists(query: string, name: string): Promise<boolean> {
    return (await this.pool.query(query, [name])).rowCount === 1;
  }

  /** Gives the role what a template's owner owns in its clone; nothing to do in a fresh database. */
  private async handOver(name: string): Promise<void> {
    await this.inDatabase(name, async (client) => {
      const { rows } = await client.query<{ kind: string; schema: string | null; name: string }>(HANDOVER_QUERY, [name]);
      for (const row of rows) {
        const object = row.schema === null ? id(row.name) : `${id(row.schema)}.${id(row.name)}`;
        await client.query(`ALTER ${row.kind === "SCHEMA" ? "SCHEMA" : "TABLE"} ${object} OWNER TO ${id(name)}`);
      }
    });
  }

  /** FORCE ends the sessions still connected to it (the preview app's, a developer's psql). */
  private async dropDatabase(name: string): Promise<void> {
    await this.pool.query(`DROP DATABASE IF EXISTS ${id(name)} WITH (FORCE)`);
  }

  /**
   * A template database open to PUBLIC is closed; when the admin is not
   * allowed to, PostgreSQL only warns, so the privilege is read again and
   * the error says what to run.
   */
  private async closeToPublic(database: string): Promise<void> {
    const isOpen = async () => (await this.pool.query<{ open: boolean }>(PUBLIC_CAN_CONNECT, [database])).rows[0]?.open === true;
    if (!(await isOpen())) return;
    const sql = `REVOKE CONNECT ON DATABASE ${id(database)} FROM PUBLIC;`;
    await this.pool.query(sql);
    if (await isOpen()) throw new TemplateOpenError(database, sql);
  }

  /**
   * Whatever the environment's code did with the role, it goes: no new
   * sessions, the open ones ended, and what it came to own or be granted in
   * other databases (where some grant let it) dropped there — not handed to
   * the admin, which would make anything it planted run with the admin's
   * rights. Its own database is dropped before this.
   */
  private async dropRole(name: string): Promise<void> {
    if (!(await this.exists(ROLE_EXISTS, name))) return;
    await this.pool.query(`ALTER ROLE ${id(name)} NOLOGIN`);
    await this.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", [name]);
    const { rows } = await this.pool.query<{ name: string }>(ROLE_DEPENDENT_DATABASES, [name]);
    for (const database of rows) await this.inDatabase(database.name, (client) => client.query(`DROP OWNED BY ${id(name)}`));
    await this.pool.query(`DROP ROLE IF EXISTS ${id(name)}`);
  }

  /** An admin session in another database, for what can only be done from inside it. */
  private async inDatabase<T>(database: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
    const url = new URL(this.adminUrl);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.href, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return await action(client);
    } finally {
      await client.end();
    }
  }

  /** Turns a PostgreSQL error into the step's failure: retryable unless its SQLSTATE says a retry cannot help. */
  private async inStep<T>(step: StepSpec, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new StepFailedError({
        step: step.name,
        reason: `failed in PostgreSQL: ${(error as Error).message}`,
        terminal: error instanceof TemplateOpenError || (typeof code === "string" && TERMINAL_CODES.has(code)),
        cause: error,
      });
    }
  }
}

/** A template database PUBLIC may connect to and the admin role cannot close: no clone until an operator does. */
class TemplateOpenError extends Error {
  constructor(template: string, sql: string) {
    super(`template database "${template}" lets every role connect and the admin role cannot revoke that: run \`${sql}\` as its owner or a superuser`);
    this.name = "TemplateOpenError";
  }
}

function parseWith(step: StepSpec): z.output<typeof postgresWithSchema> {
  const parsed = postgresWithSchema.safeParse(step.with ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${["with", ...issue.path].join(".")}: ${issue.message}`);
  throw new StepFailedError({ step: step.name, reason: `has an invalid postgres configuration: ${problems.join("; ")}`, terminal: true });
}

function isPositiveId(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802 and
 * 7677, as libpq's `PQencryptPasswordConn` computes it). PostgreSQL takes a
 * `PASSWORD` in this form as already encrypted. `password` must be ASCII,
 * which SASLprep leaves unchanged.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();
  const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
