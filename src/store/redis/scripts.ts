import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "./connection.js";

/**
 * The adapter's Lua scripts, one a file in `scripts/` named
 * `<name>-<numberOfKeys>.lua` (BullMQ's convention), each opening with its
 * KEYS, ARGV and return value. They are registered on the client with
 * `defineCommand`, so ioredis sends EVALSHA and falls back to EVAL by itself,
 * in pipelines too.
 */
export const SCRIPT_NAMES = [
  "record-intent",
  "hold-lease",
  "release-lease",
  "commit",
  "record-shown",
  "claim-due",
  "mark-due",
  "forget-env",
  "admit",
  "release-admission",
  "take-token",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

interface Script {
  lua: string;
  numberOfKeys: number;
}

/**
 * `tsc` emits only JavaScript, so after a build the `.lua` files are not
 * beside this module (dist/store/redis/). They are read from `scripts/` next
 * to the module when it is there (src/ under vitest or tsx, or a build that
 * copies them), else from src/store/redis/scripts under the package root:
 * the nearest directory above with a package.json, which is the same
 * checkout whether this runs from src/ or from dist/.
 */
function scriptsDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, "scripts");
  if (existsSync(beside)) return beside;
  for (let dir = here; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "src", "store", "redis", "scripts");
  }
  throw new Error(`cannot find the Redis Lua scripts: no scripts/ beside ${here} and no package.json above it`);
}

let loaded: Map<ScriptName, Script> | undefined;

function loadScripts(): Map<ScriptName, Script> {
  if (loaded) return loaded;
  const dir = scriptsDirectory();
  const files = new Map<string, Script>();
  for (const file of readdirSync(dir)) {
    const match = /^(.+)-(\d+)\.lua$/.exec(file);
    if (match?.[1]) files.set(match[1], { lua: readFileSync(join(dir, file), "utf8"), numberOfKeys: Number(match[2]) });
  }
  loaded = new Map(
    SCRIPT_NAMES.map((name) => {
      const script = files.get(name);
      if (!script) throw new Error(`Redis Lua script "${name}-<numberOfKeys>.lua" is missing from ${dir}`);
      return [name, script];
    }),
  );
  return loaded;
}

/** The command name on the client; prefixed so it cannot clash with a caller's own scripts. */
const commandName = (name: ScriptName) => `ephemera:${name}`;

/** Registers every script on the client (again is harmless: same name, same script). */
export function defineScripts(client: RedisClient): void {
  for (const [name, script] of loadScripts()) client.defineCommand(commandName(name), script);
}

type ScriptCommand = (...args: Array<string | number>) => unknown;

/** Runs a script now (on a client) or queues it (on a pipeline or transaction). */
export function callScript(target: RedisClient, name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown>;
export function callScript(target: ChainableCommander, name: ScriptName, keys: string[], args: Array<string | number>): ChainableCommander;
export function callScript(target: RedisClient | ChainableCommander, name: ScriptName, keys: string[], args: Array<string | number>): unknown {
  const script = loadScripts().get(name);
  if (script?.numberOfKeys !== keys.length) {
    throw new Error(`script ${name} takes ${script?.numberOfKeys} keys, not ${keys.length}`);
  }
  // defineCommand adds methods ioredis's types cannot know; a pipeline copies them from its client.
  const command = (target as unknown as Record<string, ScriptCommand | undefined>)[commandName(name)];
  if (!command) throw new Error(`Redis scripts are not defined on this client (call defineScripts first)`);
  return command.call(target, ...keys, ...args);
}
