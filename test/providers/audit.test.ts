import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEnv } from "../../src/config/env.js";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { auditOrphans } from "../../src/providers/audit.js";
import { PostgresProvider } from "../../src/providers/postgres-provider.js";
import type { OwnedResource, ProviderLogger, ResourceOwner } from "../../src/lifecycle/provider.js";
import { openRuntime } from "../../src/runtime.js";
import { openTestPostgres, setupContext, type TestPostgres } from "../helpers/postgres.js";

const REPO_ID = 777;
const log: ProviderLogger = { info: () => undefined, warn: () => undefined };
/** For tests about something else: the provider is in use and no bound applies. */
const UNBOUNDED = { inUse: async () => true, bounds: { maxRemovals: 1_000, maxShare: 1 }, force: false };
const DEFAULT_BOUNDS = { maxRemovals: 20, maxShare: 0.5 };

let db: TestPostgres;
let postgres: PostgresProvider;

beforeAll(() => {
  db = openTestPostgres();
  postgres = new PostgresProvider({ adminUrl: db.adminUrl, prefix: db.prefix, log });
});

afterAll(async () => {
  await postgres.close();
  await db.dispose();
});

async function createEnvironment(pr: number, provider = postgres): Promise<void> {
  const ctx = setupContext(REPO_ID, pr, log);
  await provider.create({ name: "database", uses: "postgres" }, ctx);
}

async function databases(): Promise<string[]> {
  const { rows } = await db.admin.query<{ name: string }>("SELECT datname AS name FROM pg_database ORDER BY 1");
  return rows.map((row) => row.name);
}

const nameOf = (pr: number) => `${db.prefix}${REPO_ID}_pr${pr}`;
const claimedOnly =
  (...prs: number[]) =>
  async (env: EnvKey) =>
    env.repoId === REPO_ID && prs.includes(env.pr);

describe("auditOrphans against PostgreSQL", () => {
  beforeAll(async () => {
    await createEnvironment(1); // claimed by nobody: an orphan
    await createEnvironment(2); // claimed by a live environment
    await db.admin.query(`CREATE DATABASE ${db.foreignName}`); // not ours: no prefix
    await db.createSeededDatabase(`${db.prefix}seed`, ["row"]); // prefixed, but names no environment
  });

  it("reports orphans on a dry run and removes nothing", async () => {
    const before = await databases();
    const report = await auditOrphans({ owners: [postgres], isClaimed: claimedOnly(2), ...UNBOUNDED, dryRun: true, log });

    expect(report.found.map((resource) => [resource.kind, resource.name]).sort()).toEqual([
      ["database", nameOf(1)],
      ["database", `${db.prefix}seed`],
      ["role", nameOf(1)],
    ]);
    expect(report.removed).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(await databases()).toEqual(before);
  });

  it("removes an unclaimed environment's database and role, and nothing else", async () => {
    const report = await auditOrphans({ owners: [postgres], isClaimed: claimedOnly(2), ...UNBOUNDED, dryRun: false, log });

    expect(report.removed).toEqual([
      { provider: "postgres", kind: "database", name: nameOf(1), env: { repoId: REPO_ID, pr: 1 } },
      { provider: "postgres", kind: "role", name: nameOf(1), env: { repoId: REPO_ID, pr: 1 } },
    ]);
    expect(report.found).toContainEqual({ provider: "postgres", kind: "database", name: `${db.prefix}seed`, env: null });
    expect(report.errors).toEqual([]);
    const left = await databases();
    expect(left).not.toContain(nameOf(1));
    expect(left).toEqual(expect.arrayContaining([nameOf(2), db.foreignName, `${db.prefix}seed`]));
    const { rowCount } = await db.admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [nameOf(1)]);
    expect(rowCount).toBe(0);
  });
});

describe("two installs sharing one PostgreSQL (EPHEMERA_POSTGRES_PREFIX)", () => {
  it("audits only the names under its own prefix", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ephemera-audit-"));
    // Each install as the server builds it: from its environment variables, with a store of its own.
    const install = (prefix: string) =>
      openRuntime(
        readEnv({ APP_ID: "1", PRIVATE_KEY: "unused", WEBHOOK_SECRET: "s", EPHEMERA_DATA_DIR: join(dataDir, prefix), EPHEMERA_POSTGRES_URL: db.adminUrl, EPHEMERA_POSTGRES_PREFIX: prefix }),
        pino({ level: "silent" }),
      );
    const staging = await install(`${db.prefix}staging_`);
    const production = await install(`${db.prefix}prod_`);
    try {
      const [stagingOwner, productionOwner] = [staging.owners[0] as PostgresProvider, production.owners[0] as PostgresProvider];
      await createEnvironment(41, stagingOwner);
      await createEnvironment(41, productionOwner);
      // Neither store knows either environment: to each install, only its own is an orphan.
      const report = await auditOrphans({ owners: staging.owners, isClaimed: async () => false, ...UNBOUNDED, dryRun: false, log });
      expect(report.removed.map((resource) => resource.name)).toEqual([`${db.prefix}staging_${REPO_ID}_pr41`, `${db.prefix}staging_${REPO_ID}_pr41`]);
      expect(await databases()).toContain(`${db.prefix}prod_${REPO_ID}_pr41`);
    } finally {
      await staging.close();
      await production.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

const resource = (pr: number, kind = "database"): OwnedResource => ({ provider: "fake", kind, name: `fake_${pr}`, env: { repoId: 1, pr } });

function fakeOwner(resources: OwnedResource[], failOn: string[] = []): ResourceOwner & { removedNames: string[] } {
  const removedNames: string[] = [];
  return {
    name: "fake",
    removedNames,
    listOwned: async () => resources,
    removeOwned: async ({ kind, name }) => {
      if (failOn.includes(`${kind}:${name}`)) throw new Error(`cannot drop ${name}`);
      removedNames.push(`${kind}:${name}`);
    },
  };
}

/** Environments 1…n, each a database and a role. */
const environments = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => [resource(from + i), resource(from + i, "role")]).flat();

describe("auditOrphans is fail-safe", () => {
  it("removes nothing for a provider no live environment uses, says why, and --force overrides", async () => {
    const owner = fakeOwner(environments(1, 3));
    const held = await auditOrphans({ owners: [owner], isClaimed: async () => false, inUse: async () => false, bounds: DEFAULT_BOUNDS, force: false, dryRun: false, log });
    expect(owner.removedNames).toEqual([]);
    expect(held.heldBack).toHaveLength(6);
    expect(held.notes).toEqual([
      "fake: holding back all 3 orphaned environments: the store holds no live environment whose template uses fake, as after a wrong EPHEMERA_KEY_PREFIX or an emptied store; check, then `npx ephemera audit --force` removes them",
    ]);

    const forced = await auditOrphans({ owners: [owner], isClaimed: async () => false, inUse: async () => false, bounds: DEFAULT_BOUNDS, force: true, dryRun: false, log });
    expect(owner.removedNames).toHaveLength(6);
    expect(forced.notes).toEqual([]);
  });

  it("removes at most 20 of 30 orphaned environments in one run, with a note, and all of them with --force", async () => {
    // 10 live environments beside the 30 orphans: 50% of 40 would allow 20 too.
    const owner = fakeOwner(environments(1, 40));
    const isClaimed = async (env: EnvKey) => env.pr > 30;
    const bounded = await auditOrphans({ owners: [owner], isClaimed, inUse: async () => true, bounds: DEFAULT_BOUNDS, force: false, dryRun: false, log });
    expect(owner.removedNames).toHaveLength(40);
    expect(new Set(owner.removedNames.map((name) => name.split(":")[1])).size).toBe(20);
    expect(bounded.heldBack).toHaveLength(20);
    expect(bounded.notes).toEqual([
      "fake: holding back 10 of 30 orphaned environments: one run removes at most 20 and 50% of the 40 environments found (EPHEMERA_AUDIT_MAX_REMOVALS, EPHEMERA_AUDIT_MAX_SHARE); the next run goes on, or `npx ephemera audit --force` removes them now",
    ]);

    const all = fakeOwner(environments(1, 40));
    await auditOrphans({ owners: [all], isClaimed, inUse: async () => true, bounds: DEFAULT_BOUNDS, force: true, dryRun: false, log });
    expect(all.removedNames).toHaveLength(60);
  });

  it("removes at most half of what it finds, counted in environments", async () => {
    const owner = fakeOwner(environments(1, 12));
    const report = await auditOrphans({ owners: [owner], isClaimed: async (env) => env.pr > 10, inUse: async () => true, bounds: DEFAULT_BOUNDS, force: false, dryRun: true, log });
    expect(report.found).toHaveLength(20);
    expect(report.heldBack).toHaveLength(8);
    expect(report.notes[0]).toMatch(/^fake: holding back 4 of 10 orphaned environments: one run removes at most 20 and 50% of the 12 environments found/);
  });

  it("removes nothing when it cannot tell whether the provider is in use", async () => {
    const owner = fakeOwner(environments(1, 2));
    const report = await auditOrphans({ owners: [owner], isClaimed: async () => false, inUse: async () => Promise.reject(new Error("store unreachable")), bounds: DEFAULT_BOUNDS, force: false, dryRun: false, log });
    expect(owner.removedNames).toEqual([]);
    expect(report.errors).toEqual([{ owner: "fake", resource: null, message: "could not tell whether any environment uses it: store unreachable" }]);
  });
});

describe("auditOrphans when something fails", () => {
  it("treats an environment it cannot look up as claimed", async () => {
    const owner = fakeOwner([resource(1), resource(2)]);
    const isClaimed = async (env: EnvKey) => {
      if (env.pr === 1) throw new Error("store unreachable");
      return false;
    };
    const report = await auditOrphans({ owners: [owner], isClaimed, ...UNBOUNDED, dryRun: false, log });

    expect(owner.removedNames).toEqual(["database:fake_2"]);
    expect(report.errors).toEqual([{ owner: "fake", resource: resource(1), message: "could not tell whether it is claimed: store unreachable" }]);
  });

  it("stops an environment's removals at the first failure and goes on with the next owner", async () => {
    const broken: ResourceOwner = { name: "broken", listOwned: async () => Promise.reject(new Error("server down")), removeOwned: async () => undefined };
    const owner = fakeOwner([resource(1), resource(1, "role"), resource(2)], ["database:fake_1"]);
    const report = await auditOrphans({ owners: [broken, owner], isClaimed: async () => false, ...UNBOUNDED, dryRun: false, log });

    expect(owner.removedNames).toEqual(["database:fake_2"]);
    expect(report.removed).toEqual([resource(2)]);
    expect(report.errors).toEqual([
      { owner: "broken", resource: null, message: "server down" },
      { owner: "fake", resource: resource(1), message: "cannot drop fake_1" },
    ]);
  });
});
