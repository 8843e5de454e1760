import { z } from "zod";
import type { EnvKey } from "../../lifecycle/environment.js";
import { CorruptRecordError } from "../field-codec.js";
import { LEASE_PARTS, type EnvKeyPart } from "../keys.js";
import { LIVE, type Sql } from "./connection.js";

/**
 * The rows of `env_keys`: one environment's keys, each with its own expiry.
 * Statements bind the EnvKey itself (`@repoId`, `@pr`).
 */

const ENV = "repo_id = @repoId AND pr = @pr";
/**
 * The environment's state, not its leases: a lease keeps its own expiry,
 * and alone does not list an environment. (The deliveries, which neither,
 * are not in this table: see deliveries.ts.)
 */
export const DATA = `part NOT IN (${LEASE_PARTS.map((part) => `'${part}'`).join(", ")})`;

export type ListPart = Extract<EnvKeyPart, "inbox" | "events">;
export function isList(part: EnvKeyPart): part is ListPart {
  return part === "inbox" || part === "events";
}

export const listSchema = z.array(z.string());

export function decodeList(raw: string, part: ListPart): string[] {
  try {
    return listSchema.parse(JSON.parse(raw));
  } catch (error) {
    throw new CorruptRecordError(`list "${part}"`, error);
  }
}

export interface EnvRow {
  part: EnvKeyPart;
  value: string;
  expires_at: number | null;
}

export type EnvKeys = ReturnType<typeof envKeys>;

export function envKeys(sql: Sql) {
  /** A live key, like Redis GET: undefined when absent or expired. */
  const get = (key: EnvKey, part: EnvKeyPart, now: number) =>
    sql<EnvRow>(`SELECT part, value, expires_at FROM env_keys WHERE ${ENV} AND part = @part AND ${LIVE}`).get({ ...key, part, now });

  const put = (key: EnvKey, part: EnvKeyPart, value: string, expiresAt: number | null) => {
    sql(
      `INSERT INTO env_keys (repo_id, pr, part, value, expires_at) VALUES (@repoId, @pr, @part, @value, @expiresAt)
       ON CONFLICT (repo_id, pr, part) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
    ).run({ ...key, part, value, expiresAt });
  };

  const remove = (key: EnvKey, part: EnvKeyPart) => {
    sql(`DELETE FROM env_keys WHERE ${ENV} AND part = @part`).run({ ...key, part });
  };

  return {
    get,
    put,
    remove,

    /** Every live key of the environment in this table: its state, leases included. */
    live(key: EnvKey, now: number): EnvRow[] {
      return sql<EnvRow>(`SELECT part, value, expires_at FROM env_keys WHERE ${ENV} AND ${LIVE}`).all({ ...key, now });
    },

    /**
     * Deletes the environment's expired keys. Writers call it first, so
     * they see an expired key as absent and never revive it by refreshing
     * TTLs; it also leaves the sweep less to do.
     */
    purgeExpired(key: EnvKey, now: number): void {
      sql(`DELETE FROM env_keys WHERE ${ENV} AND NOT ${LIVE}`).run({ ...key, now });
    },

    /**
     * Rewrites a list through `edit`, keeping it at least until `expiresAt`:
     * never shortened, as recording an intent must not cut an inbox's longer
     * TTL. An empty list is deleted, as Redis deletes one.
     */
    editList(key: EnvKey, part: ListPart, now: number, expiresAt: number, edit: (items: string[]) => string[]): void {
      const row = get(key, part, now);
      const items = edit(row ? decodeList(row.value, part) : []);
      if (items.length > 0) put(key, part, JSON.stringify(items), Math.max(row?.expires_at ?? 0, expiresAt));
      else remove(key, part);
    },

    /**
     * Appends one entry to a list, as RPUSH does, keeping the list at least
     * until `expiresAt` (as `editList`). SQLite appends to the stored array
     * (`$[#]` is its end) without the entries being read into JavaScript.
     * Call after `purgeExpired`, so an expired list is not appended to.
     */
    appendList(key: EnvKey, part: ListPart, item: string, expiresAt: number): void {
      sql(
        `INSERT INTO env_keys (repo_id, pr, part, value, expires_at) VALUES (@repoId, @pr, @part, json_array(@item), @expiresAt)
         ON CONFLICT (repo_id, pr, part) DO UPDATE SET value = json_insert(value, '$[#]', @item), expires_at = max(coalesce(expires_at, 0), excluded.expires_at)`,
      ).run({ ...key, part, item, expiresAt });
    },

    /** Sets the expiry of every data key of the environment (leases keep theirs). */
    expireAll(key: EnvKey, expiresAt: number): void {
      sql(`UPDATE env_keys SET expires_at = @expiresAt WHERE ${ENV} AND ${DATA}`).run({ ...key, expiresAt });
    },
  };
}
