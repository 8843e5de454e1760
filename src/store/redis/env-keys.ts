import { envId, type EnvKey } from "../../lifecycle/environment.js";
import { DATA_KEY_PARTS, ENV_KEY_PARTS, STATE_KEY_PARTS, type EnvKeyPart, type Keys } from "../keys.js";
import type { ExportedKey, LeaseName } from "../../lifecycle/state-store.js";
import type { RedisClient } from "./connection.js";
import type { GlobalIndex } from "./global-index.js";
import { asNumber, asStrings, execAll, keepTtl } from "./replies.js";
import { SlotBatch } from "./slot-batch.js";

/**
 * Every key of one environment, found without SCAN: its names are fixed
 * (ENV_KEY_PARTS), and each part's type is known (the inbox and the event log
 * are lists, the deliveries a sorted set, everything else a string).
 */

const LIST_PARTS: ReadonlySet<EnvKeyPart> = new Set(["inbox", "events"]);
const SORTED_SET_PARTS: ReadonlySet<EnvKeyPart> = new Set(["deliveries"]);

/** The environment's state keys in STATE_KEY_PARTS order, as forget-env-13.lua takes them. */
export function envKeyNames(keys: Keys, key: EnvKey): string[] {
  return STATE_KEY_PARTS.map((part) => keys.env(key, part));
}

/** commit-12.lua's KEYS before the environment's data keys: the fence and the repository's envs and due sets. */
const COMMIT_FIXED_KEYS = 3;
/** The data keys commit-12.lua names (KEYS[4], KEYS[5]); the rest follow in DATA_KEY_PARTS order. */
const COMMIT_LISTS: readonly EnvKeyPart[] = ["inbox", "events"];
const COMMIT_DATA_PARTS = [...COMMIT_LISTS, ...DATA_KEY_PARTS.filter((part) => !COMMIT_LISTS.includes(part))];

/**
 * The KEYS of commit-12.lua, and `keyIndex`: a data part's 1-based index in
 * them, as the script names a field it writes.
 */
export function commitKeyNames(keys: Keys, key: EnvKey, fence: LeaseName) {
  const indexes = [keys.env(key, fence), keys.repoEnvs(key.repoId), keys.repoDue(key.repoId)];
  return {
    names: [...indexes, ...COMMIT_DATA_PARTS.map((part) => keys.env(key, part))],
    keyIndex: (part: EnvKeyPart) => COMMIT_FIXED_KEYS + COMMIT_DATA_PARTS.indexOf(part) + 1,
  };
}

/** Every key of the environment that exists, with its value and TTL, read in one transaction (a consistent snapshot). */
export async function exportEnvKeys(client: RedisClient, keys: Keys, key: EnvKey): Promise<ExportedKey[]> {
  const read = client.multi();
  for (const part of ENV_KEY_PARTS) {
    const name = keys.env(key, part);
    if (LIST_PARTS.has(part)) read.lrange(name, 0, -1);
    else if (SORTED_SET_PARTS.has(part)) read.zrange(name, "0", "-1", "WITHSCORES");
    else read.get(name);
    read.pttl(name);
  }
  const replies = await execAll(read);
  return ENV_KEY_PARTS.flatMap((part, i): ExportedKey[] => {
    const ttl = asNumber(replies[2 * i + 1]);
    if (ttl === -2) return []; // no such key
    const value = replies[2 * i];
    return [{ key: keys.env(key, part), value: exportedValue(part, value), ttlMs: ttl === -1 ? null : ttl }];
  });
}

/**
 * Writes exported keys back with their TTLs, one transaction per
 * environment, and re-derives its indexes. The due time is not one of the
 * environment's keys, so an imported environment is marked due now: the
 * reconciler looks at it and decides.
 */
export async function importEnvKeys(
  client: RedisClient,
  keys: Keys,
  global: GlobalIndex,
  exported: ExportedKey[],
  fallbackTtlMs: number,
): Promise<void> {
  const now = Date.now();
  const byEnv = new Map<string, { env: EnvKey; entries: Array<ExportedKey & { part: EnvKeyPart }> }>();
  for (const entry of exported) {
    const { env, part } = envPartOf(keys, entry.key);
    const group = byEnv.get(keys.envBase(env)) ?? { env, entries: [] };
    group.entries.push({ ...entry, part });
    byEnv.set(keys.envBase(env), group);
  }

  const globalWrites = new SlotBatch(client);
  for (const { env, entries } of byEnv.values()) {
    const write = client.multi();
    let indexTtlMs = 0;
    for (const { key, part, value, ttlMs } of entries) {
      write.del(key);
      if (LIST_PARTS.has(part)) {
        const items = listValue(key, value);
        // Redis has no empty list: an empty one is a key that does not exist.
        if (items.length > 0) write.rpush(key, ...items);
      } else if (SORTED_SET_PARTS.has(part)) {
        const pairs = sortedSetValue(key, value);
        if (pairs.length > 0) write.zadd(key, ...pairs.flatMap(([member, score]) => [score, member]));
      } else {
        if (typeof value !== "string") throw new Error(`exported ${key} should be a string`);
        write.set(key, value);
      }
      if (ttlMs !== null) write.pexpire(key, ttlMs);
      indexTtlMs = Math.max(indexTtlMs, ttlMs ?? fallbackTtlMs);
    }
    const member = envId(env.pr);
    write.sadd(keys.repoEnvs(env.repoId), member).zadd(keys.repoDue(env.repoId), "LT", now, member);
    keepTtl(write, keys.repoEnvs(env.repoId), indexTtlMs);
    keepTtl(write, keys.repoDue(env.repoId), indexTtlMs);
    await execAll(write);
    global.queueDueBy(globalWrites, env.repoId, now, indexTtlMs);
    global.queueRepo(globalWrites, env.repoId, indexTtlMs);
  }
  await execAll(globalWrites);
}

/** Which environment and part a key names; throws for a key that is not an environment's under this prefix. */
function envPartOf(keys: Keys, name: string): { env: EnvKey; part: EnvKeyPart } {
  const match = name.startsWith(keys.prefix) ? /^\{(\d+)\}:env:pr-(\d+):(.+)$/.exec(name.slice(keys.prefix.length)) : null;
  const env = { repoId: Number(match?.[1]), pr: Number(match?.[2]) };
  const part = ENV_KEY_PARTS.find((known) => known === match?.[3]);
  // Built back with keys.ts, so only a name keys.ts would make passes.
  if (!part || keys.env(env, part) !== name) throw new Error(`not a key of an environment under prefix "${keys.prefix}": ${name}`);
  return { env, part };
}

function exportedValue(part: EnvKeyPart, reply: unknown): ExportedKey["value"] {
  if (LIST_PARTS.has(part)) return asStrings(reply);
  if (!SORTED_SET_PARTS.has(part)) return String(reply);
  const flat = asStrings(reply);
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] as string, Number(flat[i + 1])]);
  return pairs;
}

function sortedSetValue(key: string, value: ExportedKey["value"]): Array<[string, number]> {
  const valid = Array.isArray(value) && value.every((pair) => Array.isArray(pair) && typeof pair[0] === "string" && Number.isFinite(pair[1]));
  if (!valid) throw new Error(`exported ${key} should be a list of [member, score] pairs`);
  return value as Array<[string, number]>;
}

function listValue(key: string, value: ExportedKey["value"]): string[] {
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string")) {
    throw new Error(`exported ${key} should be a list of strings`);
  }
  return value;
}
