import { describe, expect, it } from "vitest";
import { freePort } from "../helpers/redis-server.js";
import { runCliHere } from "./cli-harness.js";

// What needs no store: help and the command line itself.

const COMMANDS = ["list", "inspect", "export", "import", "extend", "teardown", "gc", "audit", "resync"];

describe("the CLI's help", () => {
  it("lists every command with `ephemera --help`, and exits 2 with it on stderr when no command is given", async () => {
    const help = await runCliHere(["--help"], {});
    expect(help.code).toBe(0);
    for (const name of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
    expect(help.stdout).toContain("Exit codes: 0 done, 1 failed or not finished (see stderr), 2 bad command line.");
    const none = await runCliHere([], {});
    expect(none).toMatchObject({ code: 2, stdout: "", stderr: help.stdout });
  });

  it.each(COMMANDS)("explains `%s` with --help, -h and `help %s`, without opening anything", async (name) => {
    // No configuration at all: help must not need any.
    const results = await Promise.all([runCliHere([name, "--help"], {}), runCliHere([name, "-h"], {}), runCliHere(["help", name], {})]);
    for (const result of results) {
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: ephemera ${name}\\b`));
      expect(result.stderr).toBe("");
    }
    expect(new Set(results.map((result) => result.stdout)).size).toBe(1);
  });

  it("names a bad variable in one line and exits 1, as the server does", async () => {
    const result = await runCliHere(["list"], { REDIS_URL: "localhost:6379" });
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: "ephemera: REDIS_URL is not a valid URL (expected redis://host:6379 or rediss://…)\n" });
  });
});

describe("the CLI's store", () => {
  it("fails in one line when Redis does not answer, without printing its password", async () => {
    const port = await freePort();
    const result = await runCliHere(["list"], { REDIS_URL: `redis://ops:hunter2@127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`ephemera list: cannot reach Redis at redis://[redacted]@127.0.0.1:${port} (REDIS_URL): is it up, and is the URL right?\n`);
    expect(result.stdout + result.stderr).not.toContain("hunter2");
  });

  it("does not create an embedded store where there is none: it says where it looked", async () => {
    const result = await runCliHere(["list"], { EPHEMERA_DATA_DIR: "/nonexistent/ephemera-data" });
    expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining("ephemera list: no embedded store at /nonexistent/ephemera-data") });
  });
});
