import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresProvider, scramVerifier } from "../../src/providers/postgres-provider.js";
import { StepFailedError, type ProviderLogger, type StepSpec } from "../../src/lifecycle/provider.js";
import { openTestPostgres, setupContext, type TestPostgres } from "../helpers/postgres.js";

const REPO_ID = 4242;
const lines: string[] = [];
/** Every log line the provider writes, serialized, so a test can search them. */
const log: ProviderLogger = {
  info: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
  warn: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
};

let db: TestPostgres;
let provider: PostgresProvider;

beforeAll(() => {
  db = openTestPostgres();
  provider = new PostgresProvider({ adminUrl: db.adminUrl, prefix: db.prefix, log });
});

afterAll(async () => {
  await provider.close();
  await db.dispose();
});

const context = (pr: number) => setupContext(REPO_ID, pr, log);

const step = (template?: string): StepSpec => ({ name: "database", uses: "postgres", with: template ? { template } : {} });

async function exists(kind: "database" | "role", name: string): Promise<boolean> {
  const sql = kind === "database" ? "SELECT 1 FROM pg_database WHERE datname = $1" : "SELECT 1 FROM pg_roles WHERE rolname = $1";
  return (await db.admin.query(sql, [name])).rowCount === 1;
}

describe("PostgresProvider", () => {
  it("creates a database whose role can connect with the issued URL and create a table", async () => {
    const outcome = await provider.create(step(), context(1));
    const name = `${db.prefix}${REPO_ID}_pr1`;
    expect(outcome.outputs).toEqual({ database: name, role: name, host: "127.0.0.1", port: "5432" });
    expect(Object.keys(outcome.secrets).sort()).toEqual(["password", "url"]);
    expect(outcome.secrets.url).toBe(`postgres://${name}:${outcome.secrets.password}@127.0.0.1:5432/${name}`);

    const client = await db.connect(outcome.secrets.url ?? "");
    await client.query("CREATE TABLE app (id int)");
    const { rows } = await client.query<{ user: string }>("SELECT current_user AS user");
    expect(rows[0]?.user).toBe(name);
    await client.end();
  });

  it("issues URLs at EPHEMERA_POSTGRES_STEP_URL's host and port, where steps may reach the server, and they connect", async () => {
    const forSteps = new PostgresProvider({ adminUrl: db.adminUrl, stepUrl: "postgres://localhost:5432/ignored?sslmode=disable", prefix: db.prefix, log });
    try {
      const outcome = await forSteps.create(step(), context(41));
      const name = `${db.prefix}${REPO_ID}_pr41`;
      expect(outcome.outputs).toMatchObject({ host: "localhost", port: "5432" });
      expect(outcome.secrets.url).toBe(`postgres://${name}:${outcome.secrets.password}@localhost:5432/${name}`);
      const client = await db.connect(outcome.secrets.url ?? "");
      expect((await client.query<{ user: string }>("SELECT current_user AS user")).rows[0]?.user).toBe(name);
      await client.end();
      await forSteps.destroy(step(), context(41));
    } finally {
      await forSteps.close();
    }
  });

  it("issues a role that cannot connect to another environment's database", async () => {
    const mine = await provider.create(step(), context(2));
    const theirs = await provider.create(step(), context(3));
    const intrusion = db.connect(db.urlFor(theirs.outputs.database ?? "", mine.outputs.role));
    await expect(intrusion).rejects.toMatchObject({ code: "42501", message: expect.stringMatching(/permission denied for database/) });
  });

  it("clones the template database, seed rows included, and hands its tables to the role", async () => {
    const template = `${db.prefix}seed`;
    await db.createSeededDatabase(template, ["alice", "bob", "carol"]);
    const outcome = await provider.create(step(template), context(4));

    const client = await db.connect(outcome.secrets.url ?? "");
    const { rows } = await client.query<{ name: string }>("SELECT name FROM seed ORDER BY id");
    expect(rows.map((row) => row.name)).toEqual(["alice", "bob", "carol"]);
    // A migration on a seed table needs ownership, not just grants.
    await client.query("ALTER TABLE seed ADD COLUMN email text");
    await client.query("INSERT INTO seed (name) VALUES ('dave')");
    await client.end();
  });

  it("converges when run again after a crash left the database half set up", async () => {
    const name = `${db.prefix}${REPO_ID}_pr5`;
    // As if a worker died right after CREATE DATABASE: no password, no REVOKE yet.
    await db.admin.query(`CREATE ROLE ${name}`);
    await db.admin.query(`CREATE DATABASE ${name} OWNER ${name}`);

    const first = await provider.create(step(), context(5));
    const client = await db.connect(first.secrets.url ?? "");
    await client.query("CREATE TABLE kept (id int)");
    await client.end();
    const second = await provider.create(step(), context(5));

    expect(second.outputs).toEqual(first.outputs);
    expect(second.secrets.password).not.toBe(first.secrets.password);
    const again = await db.connect(second.secrets.url ?? "");
    // The same database, not a new one: the table made in between is still there.
    await expect(again.query("SELECT * FROM kept")).resolves.toBeDefined();
    await again.end();
    const { rows } = await db.admin.query<{ publicCanConnect: boolean; login: boolean }>(
      `SELECT has_database_privilege('public', $1, 'CONNECT') AS "publicCanConnect",
              (SELECT rolcanlogin FROM pg_roles WHERE rolname = $1) AS login`,
      [name],
    );
    expect(rows[0]).toEqual({ publicCanConnect: false, login: true });
  });

  it("destroys the database and role even with a session open, and destroying twice succeeds", async () => {
    const outcome = await provider.create(step(), context(6));
    const name = outcome.outputs.database ?? "";
    const open = await db.connect(outcome.secrets.url ?? "");
    await open.query("SELECT 1");

    await provider.destroy(step(), context(6));
    expect(await exists("database", name)).toBe(false);
    expect(await exists("role", name)).toBe(false);
    await expect(open.query("SELECT 1")).rejects.toThrow();
    await provider.destroy(step(), context(6));
  });

  it("closes the template database it clones: an environment's role cannot connect to it", async () => {
    const template = `${db.prefix}seed_closed`;
    await db.createSeededDatabase(template, ["alice"]);
    const outcome = await provider.create(step(template), context(13));

    const intrusion = db.connect(db.urlFor(template, outcome.outputs.role));
    await expect(intrusion).rejects.toMatchObject({ code: "42501", message: expect.stringMatching(/permission denied for database/) });
  });

  it("closes the operator's template databases at start-up, or says what to run when it may not", async () => {
    const template = `${db.prefix}seed_startup`;
    await db.createSeededDatabase(template, ["alice"]);
    await provider.closeTemplates([template, `${db.prefix}not_there_yet`], log);
    const { rows } = await db.admin.query<{ open: boolean }>("SELECT has_database_privilege('public', $1, 'CONNECT') AS open", [template]);
    expect(rows[0]?.open).toBe(false);

    // An admin that neither owns the template nor is a superuser: PostgreSQL only warns, and nothing changes.
    const weakAdmin = `${db.prefix}weak_admin`;
    const foreignTemplate = `${db.prefix}seed_foreign`;
    await db.admin.query(`CREATE ROLE ${weakAdmin} LOGIN CREATEDB CREATEROLE`);
    await db.createSeededDatabase(foreignTemplate, ["bob"]);
    const weak = new PostgresProvider({ adminUrl: db.urlFor("postgres", weakAdmin), prefix: db.prefix, log });
    try {
      await expect(weak.closeTemplates([foreignTemplate], log)).rejects.toThrow(
        `EPHEMERA_POSTGRES_URL: template database "${foreignTemplate}" lets every role connect and the admin role cannot revoke that: run \`REVOKE CONNECT ON DATABASE "${foreignTemplate}" FROM PUBLIC;\` as its owner or a superuser`,
      );
      const clone = weak.create(step(foreignTemplate), context(14));
      await expect(clone).rejects.toMatchObject({ terminal: true, message: expect.stringContaining(`REVOKE CONNECT ON DATABASE "${foreignTemplate}" FROM PUBLIC;`) });
    } finally {
      await weak.close();
    }
  });

  it("tears down a role that came to own objects and hold privileges in another database", async () => {
    const outcome = await provider.create(step(), context(15));
    const role = outcome.outputs.role ?? "";
    const elsewhere = `${db.prefix}elsewhere`;
    await db.admin.query(`CREATE DATABASE ${elsewhere}`);
    // Some grant let the environment's code in (an operator's mistake, or a template that allowed it).
    await db.admin.query(`GRANT CONNECT, CREATE ON DATABASE ${elsewhere} TO ${role}`);
    const adminThere = await db.connect(db.urlFor(elsewhere));
    await adminThere.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
    const intruder = await db.connect(db.urlFor(elsewhere, role));
    await intruder.query("CREATE TABLE planted (id int)");
    await intruder.query("CREATE SCHEMA squatted");

    await provider.destroy(step(), context(15));
    expect(await exists("role", role)).toBe(false);
    // The session it kept open there is gone, and so is what it made.
    await expect(intruder.query("SELECT 1")).rejects.toThrow();
    const { rows } = await adminThere.query<{ count: string }>(
      "SELECT count(*) AS count FROM pg_class WHERE relname = 'planted' UNION ALL SELECT count(*) FROM pg_namespace WHERE nspname = 'squatted'",
    );
    expect(rows.map((row) => Number(row.count))).toEqual([0, 0]);
    await adminThere.end();
  });

  it("reports a missing template database as a terminal failure", async () => {
    const failure = provider.create(step(`${db.prefix}missing`), context(7));
    await expect(failure).rejects.toBeInstanceOf(StepFailedError);
    await expect(failure).rejects.toMatchObject({ terminal: true, message: expect.stringMatching(/template database .* does not exist/) });
  });

  it("rejects an unknown parameter as a terminal failure, before touching PostgreSQL", async () => {
    const failure = provider.create({ name: "database", uses: "postgres", with: { template: "x", owner: "me" } }, context(8));
    await expect(failure).rejects.toMatchObject({ terminal: true, message: expect.stringMatching(/with: .*owner/) });
    expect(await exists("database", `${db.prefix}${REPO_ID}_pr8`)).toBe(false);
  });

  it("stores the issued password as the SCRAM verifier PostgreSQL itself computes", async () => {
    const storedFor = async (role: string) => {
      const { rows } = await db.admin.query<{ verifier: string }>("SELECT rolpassword AS verifier FROM pg_authid WHERE rolname = $1", [role]);
      const verifier = rows[0]?.verifier ?? "";
      const [, iterations = "", salt = ""] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier) ?? [];
      return { verifier, salt: Buffer.from(salt, "base64"), iterations: Number(iterations) };
    };
    // The server hashes a plain password itself: ours must agree with it.
    const admin = await db.connect(db.adminUrl);
    await admin.query("SET password_encryption = 'scram-sha-256'");
    await admin.query(`CREATE ROLE ${db.prefix}scram PASSWORD 'correct horse battery staple'`);
    await admin.end();
    const reference = await storedFor(`${db.prefix}scram`);
    expect(scramVerifier("correct horse battery staple", reference.salt, reference.iterations)).toBe(reference.verifier);

    const outcome = await provider.create(step(), context(12));
    const issued = await storedFor(outcome.outputs.role ?? "");
    expect(scramVerifier(outcome.secrets.password ?? "", issued.salt, issued.iterations)).toBe(issued.verifier);
  });

  it("never writes a password into a log line or an error", async () => {
    lines.length = 0;
    const outcome = await provider.create(step(), context(9));
    await provider.destroy(step(), context(9));
    const failure = await provider.create(step(`${db.prefix}missing`), context(10)).catch((error: unknown) => error);

    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain(outcome.secrets.password);
    // The failed attempt's password was never returned: check the error carries no SQL literal at all.
    const serialized = JSON.stringify(failure, Object.getOwnPropertyNames(failure)) + String((failure as Error).cause);
    expect(serialized).not.toMatch(/PASSWORD|'[A-Za-z0-9_-]{32}'/);
  });

  it("lists what it owns under its prefix, and refuses to remove anything else", async () => {
    await db.admin.query(`CREATE DATABASE ${db.foreignName}`);
    await provider.create(step(), context(11));
    const owned = await provider.listOwned();

    expect(owned).toContainEqual({ provider: "postgres", kind: "database", name: `${db.prefix}${REPO_ID}_pr11`, env: { repoId: REPO_ID, pr: 11 } });
    expect(owned).toContainEqual({ provider: "postgres", kind: "role", name: `${db.prefix}${REPO_ID}_pr11`, env: { repoId: REPO_ID, pr: 11 } });
    expect(owned.every((resource) => resource.name.startsWith(db.prefix))).toBe(true);
    const foreign = { provider: "postgres", kind: "database", name: db.foreignName, env: { repoId: REPO_ID, pr: 11 } };
    await expect(provider.removeOwned(foreign)).rejects.toThrow(/refusing/);
    expect(await exists("database", db.foreignName)).toBe(true);
  });

  it("accepts only a prefix that cannot be confused with another", () => {
    for (const prefix of ["eph", "Eph_", "eph-x_", "1eph_", "e".repeat(30) + "_"]) {
      expect(() => new PostgresProvider({ adminUrl: db.adminUrl, prefix, log })).toThrow(/prefix/);
    }
  });
});
