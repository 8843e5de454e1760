import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresProvider } from "../../src/providers/postgres-provider.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { openTestPostgres, type TestPostgres } from "../helpers/postgres.js";
import { closeIntent, openIntent, testLog } from "./harness.js";
import { makeWorld, type World } from "./world.js";

/**
 * Key rotation cannot strand a teardown (DESIGN §3: secrets only sealed):
 * an environment set up under key A is torn down by an app restarted with
 * key B alone — its database dropped from names, its teardown command run
 * without the secret, the event log saying why — and by one restarted with
 * "B,A", which still unseals it.
 */

const SHA = "a".repeat(40);
const KEY_A = "key A: the sealing key before the rotation";
const KEY_B = "key B: the sealing key after the rotation.";
let pg: TestPostgres;
let postgres: PostgresProvider;
let dir: string;
let world: World | undefined;

beforeAll(() => {
  pg = openTestPostgres();
  postgres = new PostgresProvider({ adminUrl: pg.adminUrl, prefix: pg.prefix, log: testLog() });
  dir = mkdtempSync(join(tmpdir(), "ephemera-rotation-"));
});
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});
afterAll(async () => {
  await postgres.close();
  await pg.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The teardown command writes whether it was given the database URL. */
const config = (saw: string) => ({
  templates: {
    default: {
      steps: [{ name: "database", uses: "postgres" }],
      teardown: [{ name: "undeploy", run: `echo "url:\${EPHEMERA_OUT_DATABASE_URL:+given}" > '${saw}'` }],
    },
  },
});

async function databaseExists(name: string): Promise<boolean> {
  return (await pg.admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
}

/** Sets the environment up under key A, then restarts on the same store with `keysAfter` and closes the PR. */
async function rotateThenClose(pr: number, keysAfter: string[]) {
  const key = { repoId: 301, pr };
  const file = join(dir, `state-${pr}.sqlite`);
  const saw = join(dir, `saw-${pr}`);
  world = await makeWorld({ config: config(saw), extraProviders: [postgres], secretKeys: [KEY_A], store: openSqliteStore({ file, prefix: "ephemera:" }) });
  await world.lifecycle.record(key, openIntent(SHA));
  world.reconciler.start();
  await world.until(key, "ready", (fields) => fields.status === "ready");
  await world.dispose();

  world = await makeWorld({ config: config(saw), extraProviders: [postgres], secretKeys: keysAfter, store: openSqliteStore({ file, prefix: "ephemera:" }) });
  await world.lifecycle.record(key, closeIntent());
  world.reconciler.start();
  await world.until(key, "deleted", (fields) => fields.status === "deleted");
  const events = (await world.store.load(key))?.events ?? [];
  return { events, saw: readFileSync(saw, "utf8").trim(), database: `${pg.prefix}301_pr${pr}` };
}

describe("sealing key rotation", () => {
  it("tears down with the new key alone: the database goes, the command runs without the secret, and the log says why", async () => {
    const { events, saw, database } = await rotateThenClose(1, [KEY_B]);
    expect(await databaseExists(database)).toBe(false);
    expect(saw).toBe("url:");
    const without = events.filter((event) => event.event === "teardown_without_secrets");
    expect(without).toHaveLength(1);
    expect(without[0]?.detail).toMatch(/^teardown:undeploy ran without database\.url, database\.password: they were sealed with a key the app no longer has/);
    expect(events.some((event) => event.event === "teardown_retry")).toBe(false);
  });

  it("unseals with the previous key listed after the new one", async () => {
    const { events, saw, database } = await rotateThenClose(2, [KEY_B, KEY_A]);
    expect(await databaseExists(database)).toBe(false);
    expect(saw).toBe("url:given");
    expect(events.some((event) => event.event === "teardown_without_secrets")).toBe(false);
  });
});
