import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportFile } from "../../src/cli/export-file.js";
import { STORE_PROTOCOL } from "../../src/lifecycle/replicas.js";
import type { PrivateRedis } from "../helpers/redis-server.js";
import { runCliHere, runCliProcess, SECRETS, tempDir } from "./cli-harness.js";
import { allKeys, keyOf, openStoreFixture, REPOS, type StoreFixture, type StoreKind } from "./cli-world.js";

/**
 * What a command told its user on stderr, without log lines: commands that
 * may run steps warn there (as JSON here) that isolation is off, as cli-world
 * sets it.
 */
function notes(stderr: string): string {
  return stderr.split(/(?<=\n)/).filter((line) => !line.startsWith('{"level":')).join("");
}

/**
 * Every command against environments the lifecycle engine made, run by
 * cli-redis.test.ts on a real Redis and by cli-sqlite.test.ts on the
 * embedded store (two files, so they run side by side). The reading
 * commands, and the ones whose exit codes matter to scripts, run as child
 * processes, as `npx ephemera` does; the ones that need a provider swapped,
 * and most argument checks, run in this process.
 */
export function cliStoreSuite(kind: StoreKind, redis: () => PrivateRedis | undefined): void {
  describe(`the CLI on the ${kind} store`, () => {
    let fixture: StoreFixture;
    const cli = (args: string[], env: Record<string, string> = fixture.env) => runCliProcess(args, env, fixture.cwd);
    const cliHere = (args: string[], options?: Parameters<typeof runCliHere>[2]) => runCliHere(args, fixture.env, { providers: [fixture.postgres], ...options });
    const fieldsOf = async (repo: { id: number }, pr: number) => (await fixture.world.store.load(keyOf(repo, pr)))?.fields;

    beforeAll(async () => {
      fixture = await openStoreFixture(kind, redis());
    });
    afterAll(async () => {
      await fixture.dispose();
    });

    it("lists environments as a table, and as JSON with the contract's fields", async () => {
      const [table, json] = await Promise.all([cli(["list"]), cli(["list", "--json"])]);

      expect(table).toMatchObject({ code: 0, stderr: "" });
      const [header, ...rows] = table.stdout.trimEnd().split("\n");
      expect(header?.split(/\s+/)).toEqual(["REPO", "PR", "STATUS", "EXPIRES", "URL", "AGE"]);
      expect(rows.map((row) => row.split(/\s{2,}/).slice(0, 3))).toEqual([
        ["acme/web", "#1", "ready"],
        ["acme/web", "#2", "ready"],
        ["acme/web", "#3", "deleted"],
        ["acme/api", "#7", "ready"],
        ["acme/short", "#5", "ready"],
      ]);
      expect(rows[0]).toMatch(/ready\s+in 1h 59m|ready\s+in 2h/);
      expect(rows[0]).toContain("https://[redacted]@pr.preview.test/");

      expect(json.code).toBe(0);
      const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      expect(listed).toHaveLength(5);
      expect(listed[0]).toEqual({
        repo: "acme/web",
        repoId: REPOS.web.id,
        pr: 1,
        status: "ready",
        expiresAt: (await fieldsOf(REPOS.web, 1))?.expires_at,
        url: "https://[redacted]@pr.preview.test/",
        since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(listed[2]).toMatchObject({ repo: "acme/web", pr: 3, status: "deleted", url: null });
    });

    it("filters by repository (named in any case) and status, and says so when no repository matches", async () => {
      const [byRepo, byStatus, unknown, badStatus] = await Promise.all([
        cliHere(["list", "--repo", "ACME/Web", "--status", "ready", "--json"]),
        cliHere(["list", "--status", "deleted", "--json"]),
        cli(["list", "--repo", "acme/nope"]),
        cliHere(["list", "--status", "sleeping"]),
      ]);
      expect(JSON.parse(byRepo.stdout).map((env: { pr: number }) => env.pr)).toEqual([1, 2]);
      expect(JSON.parse(byStatus.stdout).map((env: { pr: number }) => env.pr)).toEqual([3]);
      expect(unknown).toMatchObject({ code: 1, stdout: "" });
      expect(unknown.stderr.trim()).toBe("ephemera list: no environment in the store belongs to a repository named acme/nope (known: acme/api, acme/short, acme/web)");
      expect(badStatus.code).toBe(2);
      expect(badStatus.stderr).toContain('--status: "sleeping" is not a status');
    });

    it("inspects one environment: every field, the checkpoints and the event log, secrets redacted", async () => {
      const [text, json, byId, missing] = await Promise.all([
        cli(["inspect", "acme/web", "1"]),
        cliHere(["inspect", "acme/web", "1", "--json"]),
        cliHere(["inspect", String(REPOS.web.id), "1"]),
        cliHere(["inspect", "acme/web", "99"]),
      ]);

      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^acme\/web#1 {2}\(repository id 1001\)\n/);
      expect(text.stdout).toMatch(/ {2}status {8}ready\n/);
      expect(text.stdout).toMatch(/ {2}template {6}default \(ttl 2h, max 1d\)\n/);
      expect(text.stdout).toContain("url=[sealed]");
      expect(text.stdout).toContain("api_token=[redacted]");
      // A step named like a secret keeps its harmless fields: only values named so are redacted.
      expect(text.stdout).toMatch(/\n {2}token {9}aaaaaaa {2}api_token=\[redacted\]\n/);
      expect(text.stdout).toContain("url=https://[redacted]@pr.preview.test/");
      expect(text.stdout).toMatch(/events \(last \d+, oldest first\)\n(.|\n)*step_completed {2}database/);
      expect(byId.stdout.split("\n")[0]).toBe("acme/web#1  (repository id 1001)");

      const inspected = JSON.parse(json.stdout);
      expect(inspected.key).toEqual(keyOf(REPOS.web, 1));
      expect(inspected.fields.checkpoints.database.outputs).toEqual({ database: "app_1001_pr1", url: "[sealed]" });
      expect(inspected.fields.checkpoints.token.outputs).toEqual({ api_token: "[redacted]" });
      expect(inspected.desired).toMatchObject({ open: true, repo: "acme/web" });

      expect(missing).toMatchObject({ code: 1, stderr: "ephemera inspect: acme/web has no environment for PR #99\n" });
    });

    it("audits: removes what no live environment claims, leaves what names none, and reports a dry run", async () => {
      const resource = (kind: string, name: string, env: { repoId: number; pr: number } | null) => ({ provider: "postgres", kind, name, env });
      const removed: string[] = [];
      const owner = {
        name: "postgres",
        listOwned: async () => [
          resource("database", "eph_1001_pr1", keyOf(REPOS.web, 1)), // live
          resource("database", "eph_1001_pr3", keyOf(REPOS.web, 3)), // a tombstone's
          resource("database", "eph_1001_pr99", keyOf(REPOS.web, 99)), // no environment at all
          resource("role", "eph_1001_pr3", keyOf(REPOS.web, 3)),
          resource("database", "eph_staging_template", null),
        ],
        removeOwned: async (orphan: { name: string; kind: string }) => void removed.push(`${orphan.kind} ${orphan.name}`),
      };

      const dryRun = await cliHere(["audit", "--dry-run"], { owners: [owner], stderrIsTTY: true });
      expect(dryRun.code).toBe(0);
      expect(removed).toEqual([]);
      expect(dryRun.stdout).toContain("audit: 4 orphaned resources found, 0 removed (dry run)\n");
      expect(dryRun.stdout).toMatch(/database\s+eph_1001_pr99\s+1001#99\s+would remove/);
      expect(dryRun.stdout).toMatch(/eph_staging_template\s+-\s+left alone \(names no environment\)/);
      // stderr is a terminal here: the progress line is drawn, then cleared.
      expect(notes(dryRun.stderr)).toMatch(/^\raudit: environments checked \d+\x1b\[K(.|\n)*\r\x1b\[K$/);

      const broken = { name: "broken", listOwned: async () => Promise.reject(new Error("cannot connect")), removeOwned: async () => undefined };
      const real = await cliHere(["audit"], { owners: [owner, broken] });
      expect(removed.sort()).toEqual(["database eph_1001_pr3", "database eph_1001_pr99", "role eph_1001_pr3"]);
      expect(real.stdout).toContain("audit: 4 orphaned resources found, 3 removed\n");
      expect(real).toMatchObject({ code: 1, stderr: expect.stringContaining("audit: broken: cannot connect") });
      expect(real.stderr).not.toMatch(/\r/);
    });

    it("exports every key and imports them into an empty store, value for value (redacted ones as the markers)", async () => {
      const out = tempDir("ephemera-cli-export-");
      const target = fixture.emptyTarget();
      try {
        const file = join(out.path, "export.json");
        const exported = await cli(["export", "--out", file]);
        expect(exported).toMatchObject({ code: 0, stdout: "" });
        const written = JSON.parse(readFileSync(file, "utf8"));
        expect(written).toMatchObject({ format: "ephemera-export", version: 1, store: kind, prefix: fixture.env.EPHEMERA_KEY_PREFIX });
        expect(exported.stderr).toBe(`exported ${written.keys.length} keys of 5 environments to ${file}; ${written.redacted} values redacted\n`);
        expect(written.redacted).toBeGreaterThan(0);

        const imported = await cli(["import", file], target.env);
        expect(imported.code).toBe(0);
        expect(imported.stdout).toBe(`imported ${written.keys.length} keys of 5 environments into the ${kind} store\n`);
        expect(imported.stderr).toContain("imported as the markers");

        // The target holds what the source holds, redacted as the export redacts: same keys, same values.
        const source = await allKeys(fixture.world.store);
        const expected = exportFile({ store: kind, prefix: "", keys: source, now: 0 }).keys;
        const actual = await allKeys(target.store);
        expect(actual.map(({ key, value }) => ({ key, value }))).toEqual(expected.map(({ key, value }) => ({ key, value })));
        // Every value without a secret in it came back byte for byte; the others hold the markers instead.
        const secretBearing = /sealed:v1:|:\/\/[^\s/@"]+@|api_token/;
        const plain = source.filter((entry) => !secretBearing.test(JSON.stringify(entry.value)));
        expect(plain.length).toBeGreaterThan(source.length / 2);
        for (const entry of plain) expect(actual.find((candidate) => candidate.key === entry.key)?.value).toEqual(entry.value);
        const held = JSON.stringify(actual);
        for (const secret of [...Object.values(SECRETS), "sealed:v1:"]) expect(held).not.toContain(secret);
        for (const [i, entry] of actual.entries()) {
          const ttl = source[i]?.ttlMs;
          if (ttl === null || ttl === undefined) expect(entry.ttlMs).toBeNull();
          else expect(Math.abs((entry.ttlMs ?? 0) - ttl)).toBeLessThan(60_000);
        }

        const again = await runCliHere(["import", file], target.env);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain("the store already has 5 of these environments");
      } finally {
        out.dispose();
      }
    });

    it("exports to stdout, and draws no progress bar when stderr is not a terminal", async () => {
      const [all, one] = await Promise.all([cli(["export"]), cliHere(["export", "acme/api", "7"])]);
      expect(all.code).toBe(0);
      expect(JSON.parse(all.stdout).keys.length).toBeGreaterThan(0);
      expect(all.stderr).not.toMatch(/[\r\x1b]/);
      expect(all.stderr).toMatch(/^exported \d+ keys of 5 environments; \d+ values redacted\n$/);
      const keys = JSON.parse(one.stdout).keys as Array<{ key: string }>;
      expect(keys.map((entry) => entry.key.replace(fixture.env.EPHEMERA_KEY_PREFIX ?? "", ""))).toContain("{1002}:env:pr-7:status");
      expect(keys.every((entry) => entry.key.includes("{1002}:env:pr-7:"))).toBe(true);
    });

    it("exits 2 on a bad command line, pointing at --help", async () => {
      const results = await Promise.all([
        cli([]),
        cli(["list", "--bogus"]),
        cliHere(["frobnicate"]),
        cliHere(["inspect", "acme/web"]),
        cliHere(["extend", "acme/web", "1", "soon"]),
        cliHere(["export", "acme/web"]),
        cliHere(["teardown", "not-a-repo", "1"]),
      ]);
      expect(results.map((result) => result.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
      expect(results[0]?.stderr).toMatch(/^Usage: ephemera <command>/);
      expect(results[1]?.stderr).toMatch(/^ephemera list: Unknown option '--bogus'.*\nRun 'ephemera list --help' for its usage.\n$/s);
      expect(results[2]?.stderr).toBe("ephemera: unknown command \"frobnicate\"\nRun 'ephemera --help' for the commands.\n");
      expect(results[3]?.stderr).toBe("ephemera inspect: expected <owner/name> <pr>, got \"acme/web\"\nRun 'ephemera inspect --help' for its usage.\n");
      expect(results[4]?.stderr).toContain('duration: "soon" is not a duration');
      expect(results[6]?.stderr).toContain('repository: "not-a-repo" is not a repository (expected owner/name)');
      for (const result of results) expect(result.stdout).toBe("");
    });

    it("extends an environment: the intent recorded, then reconciled in-process, capped at maxTtl", async () => {
      const key = keyOf(REPOS.web, 2);
      const before = Date.parse((await fieldsOf(REPOS.web, 2))?.expires_at ?? "");

      const extended = await cli(["extend", "acme/web", "2", "30m"]);
      expect(extended.code).toBe(0);
      const after = (await fieldsOf(REPOS.web, 2))?.expires_at ?? "";
      expect(Date.parse(after) - before).toBe(30 * 60_000);
      expect(extended.stdout).toMatch(new RegExp(`^acme/web#2 expires ${after} \\(in 2h (29|30)m\\)\\n$`));
      expect(extended.stderr).toContain("GitHub credentials are not set");

      const capped = await cliHere(["extend", "acme/web", "2", "3d"]);
      expect(capped.code).toBe(0);
      expect(capped.stdout).toContain("capped at the template's maxTtl from now");
      const cappedAt = Date.parse((await fieldsOf(REPOS.web, 2))?.expires_at ?? "");
      expect(cappedAt - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
      expect(cappedAt - Date.now()).toBeGreaterThan(23 * 3_600_000);
      // Without GitHub, the server is left a refresh to show the new expiry on the PR.
      expect((await fixture.world.store.load(key))?.inbox.map((intent) => intent.type)).toEqual(["refresh"]);
    });

    it("refuses what it cannot do: extending a tombstone, reconciling without the sealing key", async () => {
      const { WEBHOOK_SECRET: _, ...withoutKey } = fixture.env;
      const [tombstone, noKey] = await Promise.all([cliHere(["extend", "acme/web", "3", "1h"]), runCliHere(["teardown", "acme/api", "7"], withoutKey)]);
      expect(tombstone.code).toBe(1);
      expect(notes(tombstone.stderr)).toBe("ephemera extend: acme/web#3 is deleted: only a live environment can be extended\n");
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain("EPHEMERA_SECRET_KEY (or WEBHOOK_SECRET, from which the server derives it when unset) is required: `teardown` runs the reconciler");
      expect((await fieldsOf(REPOS.api, 7))?.status).toBe("ready");
    });

    it("runs no reconciler and imports nothing beside a replica of another release, and says which; the reading commands still run", async () => {
      const newer = { owner: "web-9:99:0c0c0c0c", protocol: STORE_PROTOCOL + 1, startedAt: "2026-12-06T11:00:00.000Z" };
      await fixture.world.store.registerReplica(newer, 60_000);
      try {
        // `import` writes environments in this release's layout without a reconciler: refused too.
        const dir = tempDir("ephemera-empty-export-");
        const emptyExport = join(dir.path, "empty.json");
        writeFileSync(emptyExport, JSON.stringify(exportFile({ store: kind, prefix: "", keys: [], now: 0 })));
        const [refused, importRefused, listed] = await Promise.all([cliHere(["teardown", "acme/api", "7"]), cliHere(["import", emptyExport]), cliHere(["list"])]);
        for (const command of [refused, importRefused]) {
          expect(command.code).toBe(1);
          expect(notes(command.stderr)).toMatch(
            /^ephemera: this store is in use by replicas of another release: web-9:99:0c0c0c0c \(store protocol \d+, last seen [^)]+\)\. .*: stop those replicas first, then start this one\n$/,
          );
        }
        expect(listed.code).toBe(0);
        expect((await fieldsOf(REPOS.api, 7))?.status).toBe("ready");
        // The refused command took back the entry it wrote while it looked.
        expect((await fixture.world.store.listReplicas()).map((replica) => replica.owner)).toEqual([newer.owner]);
        dir.dispose();
      } finally {
        await fixture.world.store.removeReplica(newer.owner);
      }
    });

    it("tears down in this process, the secret unsealed for the provider, and says when a teardown step fails", async () => {
      fixture.world.ws.breakStep("undeploy", "the load balancer is on fire");
      const failed = await cliHere(["teardown", "acme/web", "2"]);
      fixture.world.ws.heal("undeploy");
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('acme/web#2: teardown step "undeploy" failed: step "undeploy" exited with code 1');
      expect((await fieldsOf(REPOS.web, 2))?.status).toBe("tearing_down");

      const done = await cliHere(["teardown", "acme/web", "1"]);
      expect(done).toMatchObject({ code: 0, stdout: "acme/web#1 is torn down\n" });
      expect((await fieldsOf(REPOS.web, 1))?.status).toBe("deleted");
      expect(fixture.postgres.destroyed).toContainEqual({ env: "1001#1", secretUrl: expect.stringContaining(SECRETS.dbPassword) });
      const undeploys = fixture.world.ws.lines().filter((line) => line.step === "undeploy" && line.kind === "end" && line.env === "pr-1");
      expect(undeploys).toHaveLength(1);

      const again = await cliHere(["teardown", "acme/web", "1"]);
      expect(again).toMatchObject({ code: 0, stdout: "acme/web#1 is already torn down\n" });
    });

    it("tears down as a child process, its teardown commands run in the config's directory", async () => {
      const result = await cli(["teardown", "acme/api", "7"]);
      expect(result).toMatchObject({ code: 0, stdout: "acme/api#7 is torn down\n" });
      expect((await fieldsOf(REPOS.api, 7))?.status).toBe("deleted");
      const undeploys = fixture.world.ws.lines().filter((line) => line.step === "undeploy" && line.kind === "end" && line.repoId === REPOS.api.id);
      expect(undeploys).toHaveLength(1);
    });

    it("gc tears down what has expired, and names it", async () => {
      // The reconciler's clock just past the expiry, instead of waiting for it.
      const expiresAt = Date.parse((await fieldsOf(REPOS.short, 5))?.expires_at ?? "");
      const skew = Math.max(0, expiresAt - Date.now() + 50);
      const result = await cliHere(["gc"], { now: () => Date.now() + skew });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^gc: \d+ environments were due; 1 expired and was torn down\n {2}torn down {6}acme\/short#5\n$/);
      expect((await fieldsOf(REPOS.short, 5))?.status).toBe("deleted");
    });
  });
}
