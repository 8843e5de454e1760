import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { runMainToExit } from "../helpers/app-process.js";
import { openTestPostgres, type TestPostgres } from "../helpers/postgres.js";

/**
 * DESIGN §7: a template database must not let every role connect. The server
 * closes it at start-up, and when its admin role may not, it refuses to
 * start with the one statement an operator has to run.
 */

let pg: TestPostgres;
let dir: string;

beforeAll(() => {
  pg = openTestPostgres();
  dir = mkdtempSync(join(tmpdir(), "ephemera-pg-startup-"));
});
afterAll(async () => {
  await pg.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("start-up with a postgres template database", () => {
  it("refuses to start when the template is open to every role and the admin role cannot close it", async () => {
    const template = `${pg.prefix}seed`;
    const weakAdmin = `${pg.prefix}weak_admin`;
    await pg.createSeededDatabase(template, ["alice"]);
    await pg.admin.query(`CREATE ROLE ${weakAdmin} LOGIN CREATEDB CREATEROLE`);
    const config = join(dir, "ephemera.config.yml");
    writeFileSync(config, `templates:\n  default:\n    steps:\n      - name: database\n        uses: postgres\n        with: { template: ${template} }\n`);

    const { code, stderr } = await runMainToExit({
      ...testAppCredentials(),
      GHE_HOST: "127.0.0.1:1",
      GHE_PROTOCOL: "http",
      EPHEMERA_CONFIG: config,
      EPHEMERA_DATA_DIR: join(dir, "data"),
      EPHEMERA_POSTGRES_URL: pg.urlFor("postgres", weakAdmin),
      EPHEMERA_POSTGRES_PREFIX: pg.prefix,
    });
    expect(code).toBe(1);
    expect(stderr.trimEnd().split("\n")).toEqual([
      `ephemera: EPHEMERA_POSTGRES_URL: template database "${template}" lets every role connect and the admin role cannot revoke that: run \`REVOKE CONNECT ON DATABASE "${template}" FROM PUBLIC;\` as its owner or a superuser`,
    ]);
  });
});
