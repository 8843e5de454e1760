import type { EnvKey } from "../../lifecycle/environment.js";
import { ENV_KEY_PARTS, globalMember, type EnvKeyPart, type Keys } from "../keys.js";
import type { ExportedKey } from "../../lifecycle/state-store.js";
import { deliveriesSchema, type Deliveries } from "./deliveries.js";
import type { DueIndex } from "./due-index.js";
import { decodeList, isList, listSchema, type EnvKeys } from "./env-keys.js";

/**
 * An environment's rows as the Redis adapter's keys and back: the same
 * names (keys.ts), strings as stored, lists as arrays of their entries, the
 * deliveries as the [id, score] pairs of a sorted set, and the remaining
 * TTL, so an export from either adapter imports into the other.
 */
export function exportedKeys(keys: Keys, env: EnvKeys, deliveries: Deliveries, due: DueIndex) {
  const ttl = (expiresAt: number | null, now: number) => (expiresAt === null ? null : expiresAt - now);
  return {
    /** In ENV_KEY_PARTS order, as the Redis adapter lists them (the deliveries last). */
    read(key: EnvKey, now: number): ExportedKey[] {
      const exported = env
        .live(key, now)
        .sort((a, b) => ENV_KEY_PARTS.indexOf(a.part) - ENV_KEY_PARTS.indexOf(b.part))
        .map(({ part, value, expires_at }): ExportedKey => ({
          key: keys.env(key, part),
          value: isList(part) ? decodeList(value, part) : value,
          ttlMs: ttl(expires_at, now),
        }));
      const delivered = deliveries.read(key, now);
      if (delivered) exported.push({ key: keys.env(key, "deliveries"), value: delivered.pairs, ttlMs: ttl(delivered.expiresAt, now) });
      return exported;
    },

    /** Writes them back; call inside one immediate transaction. */
    write(entries: ExportedKey[], now: number): void {
      const imported = new Map<string, EnvKey>();
      for (const entry of entries) {
        const named = keys.parseEnv(entry.key);
        if (!named) throw new Error(`cannot import ${entry.key}: not a key of an environment under the prefix "${keys.prefix}"`);
        const expiresAt = entry.ttlMs === null ? null : now + entry.ttlMs;
        if (named.part === "deliveries") {
          const pairs = deliveriesSchema.safeParse(entry.value);
          if (!pairs.success) throw new Error(`cannot import ${entry.key}: expected a list of [member, score] pairs`);
          deliveries.write(named.key, pairs.data, expiresAt);
        } else {
          const value = rowValue(named.part, entry);
          if (value === null) env.remove(named.key, named.part);
          else env.put(named.key, named.part, value, expiresAt);
        }
        imported.set(globalMember(named.key), named.key);
      }
      // The repository indexes Redis rebuilds on import are queries here; only
      // the due index needs a row, so that a reconciler looks at each one now.
      for (const key of imported.values()) due.bringForward(key, now);
    },
  };
}

/**
 * How an exported key is stored in its `env_keys` row: a list as the JSON
 * array of its entries, or null (no row) when empty, as Redis has no empty
 * list.
 */
function rowValue(part: EnvKeyPart, { key, value }: ExportedKey): string | null {
  if (isList(part) && listSchema.safeParse(value).success) return value.length > 0 ? JSON.stringify(value) : null;
  if (!isList(part) && typeof value === "string") return value;
  throw new Error(`cannot import ${key}: expected ${isList(part) ? "a list of strings" : "a string"}`);
}
