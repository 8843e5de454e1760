import type { EnvKey } from "../../lifecycle/environment.js";
import { ENV_KEY_PARTS, globalMember, type EnvKeyPart, type Keys } from "../keys.js";
import type { ExportedKey } from "../state-store.js";
import type { DueIndex } from "./due-index.js";
import { decodeDeliveries, decodeList, deliveriesSchema, isList, listSchema, sortDeliveries, type EnvKeys } from "./env-keys.js";

/**
 * An environment's rows as the Redis adapter's keys and back: the same
 * names (keys.ts), strings as stored, lists as arrays of their entries, and
 * the remaining TTL, so an export from either adapter imports into the other.
 */
export function exportedKeys(keys: Keys, env: EnvKeys, due: DueIndex) {
  return {
    /** In ENV_KEY_PARTS order, as the Redis adapter lists them. */
    read(key: EnvKey, now: number): ExportedKey[] {
      return env
        .all(key, now)
        .sort((a, b) => ENV_KEY_PARTS.indexOf(a.part) - ENV_KEY_PARTS.indexOf(b.part))
        .map(({ part, value, expires_at }) => ({
          key: keys.env(key, part),
          value: isList(part) ? decodeList(value, part) : part === "deliveries" ? decodeDeliveries(value) : value,
          ttlMs: expires_at === null ? null : expires_at - now,
        }));
    },

    /** Writes them back; call inside one immediate transaction. */
    write(entries: ExportedKey[], now: number): void {
      const imported = new Map<string, EnvKey>();
      for (const entry of entries) {
        const named = keys.parseEnv(entry.key);
        if (!named) throw new Error(`cannot import ${entry.key}: not a key of an environment under the prefix "${keys.prefix}"`);
        const value = rowValue(named.part, entry);
        if (value === null) env.remove(named.key, named.part);
        else env.put(named.key, named.part, value, entry.ttlMs === null ? null : now + entry.ttlMs);
        imported.set(globalMember(named.key), named.key);
      }
      // The repository indexes Redis rebuilds on import are queries here; only
      // the due index needs a row, so that a reconciler looks at each one now.
      for (const key of imported.values()) due.bringForward(key, now);
    },
  };
}

/**
 * How an exported key is stored in its row: a list as the JSON array of its
 * entries, the deliveries as the JSON array of their [id, ms] pairs, or null
 * (no row) when empty, as Redis has no empty list or sorted set.
 */
function rowValue(part: EnvKeyPart, { key, value }: ExportedKey): string | null {
  if (part === "deliveries") {
    const pairs = deliveriesSchema.safeParse(value);
    if (!pairs.success) throw new Error(`cannot import ${key}: expected a list of [member, score] pairs`);
    return pairs.data.length > 0 ? JSON.stringify(sortDeliveries(pairs.data)) : null;
  }
  if (isList(part) && listSchema.safeParse(value).success) return value.length > 0 ? JSON.stringify(value) : null;
  if (!isList(part) && typeof value === "string") return value;
  throw new Error(`cannot import ${key}: expected ${isList(part) ? "a list of strings" : "a string"}`);
}
