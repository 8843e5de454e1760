import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresProvider } from "../../src/providers/postgres-provider.js";
import { isSealed } from "../../src/lifecycle/sealing.js";
import { openTestPostgres, type TestPostgres } from "../helpers/postgres.js";
import { closeIntent, openIntent, testLog } from "./harness.js";
import { waitFor } from "../helpers/wait-for.js";
import { makeWorld, type World } from "./world.js";

/**
 * Teardown wins, with a real PostgreSQL step: a close during setup stops it
 * at once (the running step is aborted), and teardown undoes exactly what
 * was started, in reverse order. Secret outputs are sealed in the store.
 */

const SHA = "a".repeat(40);
let pg: TestPostgres;
let postgres: PostgresProvider;
let world: World | undefined;

beforeAll(() => {
  pg = openTestPostgres();
  postgres = new PostgresProvider({ adminUrl: pg.adminUrl, prefix: pg.prefix, log: testLog() });
});
afterEach(async () => {
  await world?.dispose();
  world = undefined;
});
afterAll(async () => {
  await postgres.close();
  await pg.dispose();
});

async function databaseExists(name: string): Promise<boolean> {
  const { rowCount } = await pg.admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  return rowCount === 1;
}

describe("teardown wins", () => {
  it("stops a 3-step setup closed during its second step: the third never starts, the first two are torn down", async () => {
    world = await makeWorld({
      extraProviders: [postgres],
      config: {
        templates: {
          default: {
            steps: [
              { name: "database", uses: "postgres" },
              { name: "migrate", run: "./step.sh migrate 20" },
              { name: "deploy", run: "./step.sh deploy" },
            ],
            teardown: [{ name: "undeploy", run: "./step.sh undeploy" }],
          },
        },
      },
    });
    const key = { repoId: 201, pr: 1 };
    const database = `${pg.prefix}201_pr1`;
    await world.lifecycle.record(key, openIntent(SHA));
    world.reconciler.start();
    await waitFor(() => world?.ws.lines().some((line) => line.step === "migrate"), "the second step to start");
    expect(await databaseExists(database)).toBe(true);

    const exported = JSON.stringify(await world.store.exportKeys(key));
    const sealedUrl = (await world.store.load(key))?.fields.checkpoints?.database?.outputs.url ?? "";
    expect(isSealed(sealedUrl)).toBe(true);
    expect(exported).not.toContain("postgres://");

    const closedAt = Date.now();
    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (fields) => fields.status === "deleted");
    // The 20 s step was aborted, not waited for.
    expect(Date.now() - closedAt).toBeLessThan(5_000);

    const lines = world.ws.lines();
    expect(lines.filter((line) => line.step === "deploy")).toEqual([]);
    expect(lines.filter((line) => line.step === "migrate").map((line) => line.kind)).toEqual(["start"]);
    expect(lines.filter((line) => line.step === "undeploy" && line.kind === "end")).toHaveLength(1);
    const torn = (await world.store.load(key))?.events.filter((event) => event.event === "teardown_step").map((event) => event.detail);
    expect(torn).toEqual(["teardown:undeploy", "destroy:migrate", "destroy:database"]);
    expect(await databaseExists(database)).toBe(false);
  });

  it("passes a sealed secret to later steps unsealed, and drops the database on close", async () => {
    world = await makeWorld({
      extraProviders: [postgres],
      config: {
        templates: {
          default: {
            steps: [
              { name: "database", uses: "postgres" },
              { name: "deploy", run: "./step.sh deploy" },
            ],
          },
        },
      },
    });
    const key = { repoId: 202, pr: 2 };
    await world.lifecycle.record(key, openIntent(SHA));
    world.reconciler.start();
    const ready = await world.until(key, "ready", (fields) => fields.status === "ready");
    expect(ready.checkpoints?.deploy?.outputs.database_url_seen).toBe("yes");
    expect(ready.checkpoints?.database?.outputs).toMatchObject({ database: `${pg.prefix}202_pr2` });
    expect(JSON.stringify(ready.artifacts)).not.toContain("postgres://");
    expect(JSON.stringify(world.notifier.notices)).not.toContain("postgres://");
    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (fields) => fields.status === "deleted");
    expect(await databaseExists(`${pg.prefix}202_pr2`)).toBe(false);
  });

  it("fails at once, without retries, on a terminal error (a template database that does not exist)", async () => {
    world = await makeWorld({
      extraProviders: [postgres],
      config: { templates: { default: { steps: [{ name: "database", uses: "postgres", with: { template: `${pg.prefix}missing_seed` } }] } } },
    });
    const key = { repoId: 203, pr: 3 };
    await world.lifecycle.record(key, openIntent(SHA));
    world.reconciler.start();
    const failed = await world.until(key, "failed", (fields) => fields.status === "failed");
    expect(failed.artifacts?.error?.step).toBe("database");
    expect(failed.artifacts?.error?.message).toContain("failed in PostgreSQL");
    expect(world.notifier.eventsOf(key)).not.toContain("step_retry");
    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (fields) => fields.status === "deleted");
    expect(await databaseExists(`${pg.prefix}203_pr3`)).toBe(false);
  });
});
