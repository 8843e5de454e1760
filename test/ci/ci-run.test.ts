import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * `.ci/run`'s install decision, without installing or removing anything:
 * `--dry-run` stops after saying what it would do, `CI_TOOL_PATH` is where it
 * looks for the tools (a directory of stubs here), and a stub `id` first on
 * the PATH plays a user who is not root.
 */

const SCRIPT = resolve(import.meta.dirname, "../../.ci/run");
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function stubs(names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-ci-"));
  dirs.push(dir);
  for (const name of names) {
    writeFileSync(join(dir, name), "#!/bin/sh\n");
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

function run(tools: string[], { asUid }: { asUid?: number } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, CI_TOOL_PATH: stubs(tools) };
  if (asUid !== undefined) {
    const bin = stubs([]);
    writeFileSync(join(bin, "id"), `#!/bin/sh\necho ${asUid}\n`);
    chmodSync(join(bin, "id"), 0o755);
    env.PATH = `${bin}:${process.env.PATH}`;
  }
  const result = spawnSync("bash", [SCRIPT, "--dry-run"], { env, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const EVERYTHING = ["redis-server", "redis-cli", "pg_ctlcluster", "pg_isready", "bwrap", "nft"];

describe(".ci/run on a machine that lacks packages", () => {
  it("installs nothing when every tool is there", () => {
    const result = run(EVERYTHING);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("every package the suite needs is installed");
    expect(result.stdout).not.toContain("apt-get");
  });

  it("as root, installs exactly the missing packages from the distribution after apt-get update", () => {
    const result = run(["redis-server", "pg_ctlcluster", "pg_isready", "bwrap"]);
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").filter((line) => line.startsWith("ci: would run"))).toEqual([
      "ci: would run: apt-get update",
      "ci: would run: DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables redis-tools",
    ]);
  });

  it("names each package once, however many of its tools are missing", () => {
    const result = run([]);
    expect(result.stdout).toContain("apt-get install -y --no-install-recommends bubblewrap nftables postgresql redis-server redis-tools\n");
  });

  it("not as root, says what to install and fails without touching anything", () => {
    const result = run(["redis-server", "redis-cli", "pg_ctlcluster", "pg_isready"], { asUid: 1000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ci: missing: bubblewrap nftables");
    expect(result.stderr).toContain("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap nftables");
    expect(result.stdout).toBe("");
  });
});
