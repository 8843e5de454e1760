import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresProvider } from "../../src/providers/postgres-provider.js";
import { openTestPostgres, setupContext, type TestPostgres } from "../helpers/postgres.js";
import { testLog } from "../lifecycle/harness.js";
import { runCliHere, tempDir } from "./cli-harness.js";

/**
 * `npx ephemera audit` against an empty store and a real PostgreSQL holding
 * databases under the install's prefix: as after a wrong EPHEMERA_KEY_PREFIX
 * or a wiped Redis. Every database looks orphaned, so none is removed, and
 * the output says why; `--force` removes them.
 */

const REPO_ID = 888;
let pg: TestPostgres;
let data: ReturnType<typeof tempDir>;

beforeAll(async () => {
  pg = openTestPostgres();
  data = tempDir("ephemera-cli-audit-");
  const provider = new PostgresProvider({ adminUrl: pg.adminUrl, prefix: pg.prefix, log: testLog() });
  try {
    for (const pr of [1, 2, 3]) await provider.create({ name: "database", uses: "postgres" }, setupContext(REPO_ID, pr, testLog()));
  } finally {
    await provider.close();
  }
});
afterAll(async () => {
  await pg.dispose();
  data.dispose();
});

async function ours(): Promise<string[]> {
  const { rows } = await pg.admin.query<{ name: string }>("SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", [pg.prefix]);
  return rows.map((row) => row.name);
}

describe("ephemera audit with an empty store", () => {
  const env = () => ({ EPHEMERA_DATA_DIR: data.path, EPHEMERA_POSTGRES_URL: pg.adminUrl, EPHEMERA_POSTGRES_PREFIX: pg.prefix });

  it("removes nothing and says why; --force removes every orphan", async () => {
    const held = await runCliHere(["audit"], env());
    expect(held.code).toBe(0);
    expect(held.stdout).toContain("audit: 6 orphaned resources found, 0 removed\n");
    expect(held.stdout).toContain(
      "audit: postgres: holding back all 3 orphaned environments: the store holds no live environment whose template uses postgres, as after a wrong EPHEMERA_KEY_PREFIX or an emptied store; check, then `npx ephemera audit --force` removes them\n",
    );
    expect(held.stdout).toMatch(new RegExp(`database\\s+${pg.prefix}${REPO_ID}_pr1\\s+${REPO_ID}#1\\s+held back`));
    expect(await ours()).toHaveLength(3);

    const forced = await runCliHere(["audit", "--force"], env());
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("audit: 6 orphaned resources found, 6 removed\n");
    expect(await ours()).toEqual([]);
  });
});
