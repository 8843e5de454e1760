import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The dependency rule `.ci/run` checks (`npm run lint:deps`), run with the
 * project's own config on small trees laid out like src/: one whose imports
 * all point inward, and the same tree with a wrong-way import planted for
 * every rule. The planted files live in a temporary directory, never in src/.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Files that import only inward: adapters and entry points on the domain, a store adapter on its driver. */
const INWARD: Record<string, string> = {
  "src/lifecycle/plan.ts": `export const plan = 1;\n`,
  "src/lifecycle/state-store.ts": `export interface StateStore { load(): Promise<void> }\n`,
  "src/config/env.ts": `import type { StateStore } from "../lifecycle/state-store.js";\nexport type Env = StateStore;\n`,
  "src/read-model/list-environments.ts": `import type { StateStore } from "../lifecycle/state-store.js";\nexport type Reader = StateStore;\n`,
  "src/store/redis-store.ts": `import { Redis } from "ioredis";\nimport { plan } from "../lifecycle/plan.js";\nexport const store = [Redis, plan];\n`,
  "src/providers/postgres-provider.ts": `import pg from "pg";\nimport { plan } from "../lifecycle/plan.js";\nexport const provider = [pg, plan];\n`,
  "src/github/handler.ts": `import { plan } from "../lifecycle/plan.js";\nexport const handler = plan;\n`,
  "src/cli/list.ts": `import type { Reader } from "../read-model/list-environments.js";\nexport type List = Reader;\n`,
  "src/http/admin-api.ts": `import type { Reader } from "../read-model/list-environments.js";\nexport type Api = Reader;\n`,
};

/** One wrong-way import per rule (type-only ones count too), appended to an inward file, and the line depcruise must report for it. */
const PLANTED: Array<{ file: string; line: string; violation: string }> = [
  { file: "src/lifecycle/plan.ts", line: `import "../github/handler.js";`, violation: "lifecycle-imports-nothing-outer: src/lifecycle/plan.ts → src/github/handler.ts" },
  { file: "src/lifecycle/state-store.ts", line: `import type { Redis } from "ioredis";`, violation: "lifecycle-loads-no-driver: src/lifecycle/state-store.ts → " },
  { file: "src/config/env.ts", line: `import "../providers/postgres-provider.js";`, violation: "config-imports-no-adapter: src/config/env.ts → src/providers/postgres-provider.ts" },
  { file: "src/read-model/list-environments.ts", line: `import "../store/redis-store.js";`, violation: "read-model-imports-nothing-outer: src/read-model/list-environments.ts → src/store/redis-store.ts" },
  { file: "src/http/admin-api.ts", line: `import "../cli/list.js";`, violation: "http-imports-no-cli: src/http/admin-api.ts → src/cli/list.ts" },
  { file: "src/store/redis-store.ts", line: `import "../github/handler.js";`, violation: "store-adapter-imports-no-entry-point: src/store/redis-store.ts → src/github/handler.ts" },
];

/** A directory holding `files`, the project's tsconfig and its node_modules (so drivers resolve as in src/). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-layers-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  copyFileSync(join(ROOT, "tsconfig.json"), join(dir, "tsconfig.json"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** `npm run lint:deps`, on the tree in `dir`. */
function checkLayers(dir: string) {
  const result = spawnSync("depcruise", ["src", "--config", join(ROOT, ".dependency-cruiser.cjs")], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
  });
  if (result.error) throw new Error(`cannot run depcruise (${result.error.message}): add it with npm install -D dependency-cruiser@17.4.3`);
  return { code: result.status, violations: result.stdout.split("\n").filter((line) => line.includes("error ")).map((line) => line.replace(/^\s*error /, "")) };
}

describe("the dependency rule (npm run lint:deps)", () => {
  it("passes a tree whose imports all point inward", () => {
    expect(checkLayers(tree(INWARD))).toEqual({ code: 0, violations: [] });
  });

  it("fails on a wrong-way import, naming the rule, the importer and the imported", () => {
    const files = { ...INWARD };
    for (const { file, line } of PLANTED) files[file] = `${line}\n${files[file]}`;
    const { code, violations } = checkLayers(tree(files));
    expect(code).not.toBe(0);
    expect(violations).toHaveLength(PLANTED.length);
    for (const { violation } of PLANTED) expect(violations.some((line) => line.startsWith(violation))).toBe(true);
  });
});
