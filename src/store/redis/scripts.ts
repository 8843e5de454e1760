import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "./connection.js";
import { decodeReply, SCRIPT_REPLIES, type ScriptName, type ScriptReply } from "./script-replies.js";

/**
 * The adapter's Lua scripts, one a file in `scripts/` named
 * `<name>-<numberOfKeys>.lua` (BullMQ's convention), each opening with its
 * KEYS, ARGV and return value; steps several share are in `scripts/includes/`
 * (see readScript). They are registered on the client with
 * `defineCommand`, so ioredis sends EVALSHA and falls back to EVAL by itself,
 * in pipelines too.
 */
const SCRIPT_NAMES = Object.keys(SCRIPT_REPLIES) as ScriptName[];

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

/**
 * `--- @include "<path>"` on a line of its own (BullMQ's form): the file at
 * `<path>.lua`, relative to the including file, goes in its place. Shared
 * steps live in `scripts/includes/` as `local function`s, so one copy of a
 * rule serves every script that needs it.
 */
const INCLUDE = /^---[ \t]*@include[ \t]+"([^"]+)"[ \t]*$/gm;

/**
 * The text of the script at `path` with its includes inlined, each file once
 * however many times it is included (directly or through another include):
 * a second copy of a `local function` would only shadow the first. A
 * missing include or a cycle throws, naming the chain of files.
 */
export function readScript(path: string): string {
  const inlined = new Set<string>();
  const expand = (file: string, chain: string[]): string => {
    const here = [...chain, file];
    return readLua(file, chain).replace(INCLUDE, (_, reference: string) => {
      const included = resolve(dirname(file), `${reference}.lua`);
      if (here.includes(included)) throw new Error(`Redis Lua include cycle: ${[...here, included].join(" -> ")}`);
      if (inlined.has(included)) return "";
      inlined.add(included);
      return expand(included, here).trimEnd();
    });
  };
  return expand(resolve(path), []);
}

function readLua(file: string, includedFrom: string[]): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if (includedFrom.length === 0 || (error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new Error(`Redis Lua include ${file} (included from ${includedFrom.join(" -> ")}) does not exist`);
  }
}

/** Every script in `dir`, includes inlined, by name; throws when one of SCRIPT_NAMES is missing. */
function loadScripts(dir: string): Map<ScriptName, Script> {
  const files = new Map<string, Script>();
  for (const file of readdirSync(dir)) {
    const match = /^(.+)-(\d+)\.lua$/.exec(file);
    if (match?.[1]) files.set(match[1], { lua: readScript(join(dir, file)), numberOfKeys: Number(match[2]) });
  }
  return new Map(
    SCRIPT_NAMES.map((name) => {
      const script = files.get(name);
      if (!script) throw new Error(`Redis Lua script "${name}-<numberOfKeys>.lua" is missing from ${dir}`);
      return [name, script];
    }),
  );
}

let loaded: Map<ScriptName, Script> | undefined;
const scripts = () => (loaded ??= loadScripts(scriptsDirectory()));

/** The command name on the client; prefixed so it cannot clash with a caller's own scripts. */
const commandName = (name: ScriptName) => `ephemera:${name}`;

/** Registers every script on the client (again is harmless: same name, same script). */
export function defineScripts(client: RedisClient): void {
  for (const [name, script] of scripts()) client.defineCommand(commandName(name), script);
}

type ScriptCommand = (...args: Array<string | number>) => unknown;

/**
 * Runs a script now on a client, answering its reply decoded (see
 * script-replies.ts); or queues it on a pipeline or transaction, whose
 * caller decodes the reply with `decodeReply`.
 */
export function callScript<Name extends ScriptName>(target: RedisClient, name: Name, keys: string[], args: Array<string | number>): Promise<ScriptReply<Name>>;
export function callScript(target: ChainableCommander, name: ScriptName, keys: string[], args: Array<string | number>): ChainableCommander;
export function callScript(target: RedisClient | ChainableCommander, name: ScriptName, keys: string[], args: Array<string | number>): unknown {
  const script = scripts().get(name);
  if (script?.numberOfKeys !== keys.length) {
    throw new Error(`script ${name} takes ${script?.numberOfKeys} keys, not ${keys.length}`);
  }
  // defineCommand adds methods ioredis's types cannot know; a pipeline copies them from its client.
  const command = (target as unknown as Record<string, ScriptCommand | undefined>)[commandName(name)];
  if (!command) throw new Error(`Redis scripts are not defined on this client (call defineScripts first)`);
  const sent = command.call(target, ...keys, ...args);
  // A pipeline queues the command and answers itself; a client answers the reply to come.
  return sent === target ? sent : (sent as Promise<unknown>).then((reply) => decodeReply(name, reply));
}
