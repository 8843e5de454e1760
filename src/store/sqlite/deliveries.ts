import { z } from "zod";
import type { EnvKey } from "../../lifecycle/environment.js";
import { LIVE, type Sql } from "./connection.js";

/**
 * Each environment's `deliveries` key (a Redis sorted set: delivery id
 * scored by the ms it was recorded, with one TTL for the whole set) as two
 * tables: `delivery_sets`, one row per environment holding the set's expiry,
 * and `deliveries`, one row per remembered id. A set past its expiry is
 * gone with every id in it, as the Redis key is; an id is never alive on
 * its own. Recording one costs a few index lookups, whatever the number of
 * ids remembered: the ids older than the window go by a range of the
 * `deliveries_by_time` index, a repeat is found by the primary key.
 */

const ENV = "repo_id = @repoId AND pr = @pr";

/** An exported `deliveries` value: [delivery id, score] pairs. */
export const deliveriesSchema = z.array(z.tuple([z.string(), z.number()]));

export type Deliveries = ReturnType<typeof deliveries>;

export function deliveries(sql: Sql) {
  const setExpiry = (key: EnvKey) =>
    sql<{ expires_at: number | null }>(`SELECT expires_at FROM delivery_sets WHERE ${ENV}`).get(key);

  const drop = (key: EnvKey) => {
    sql(`DELETE FROM deliveries WHERE ${ENV}`).run(key);
    sql(`DELETE FROM delivery_sets WHERE ${ENV}`).run(key);
  };

  return {
    /**
     * Remembers a delivery id for `windowMs`, as record-intent.lua does:
     * forgets the ids older than the window, then refuses (false) an id
     * still remembered; otherwise adds it and keeps the set at least the
     * window (never shortened; one without an expiry gets one).
     */
    remember(key: EnvKey, deliveryId: string, now: number, windowMs: number): boolean {
      const set = setExpiry(key);
      if (set && set.expires_at !== null && set.expires_at <= now) drop(key);
      sql(`DELETE FROM deliveries WHERE ${ENV} AND at < @oldest`).run({ ...key, oldest: now - windowMs });
      const added = sql(`INSERT INTO deliveries (repo_id, pr, id, at) VALUES (@repoId, @pr, @id, @now) ON CONFLICT DO NOTHING`).run({
        ...key,
        id: deliveryId,
        now,
      });
      if (added.changes === 0) return false;
      sql(
        `INSERT INTO delivery_sets (repo_id, pr, expires_at) VALUES (@repoId, @pr, @expiresAt)
         ON CONFLICT (repo_id, pr) DO UPDATE SET expires_at = max(coalesce(expires_at, 0), excluded.expires_at)`,
      ).run({ ...key, expiresAt: now + windowMs });
      return true;
    },

    /** The live set: its pairs sorted as Redis sorts a sorted set (by score, then member bytes) and its expiry; undefined when none. */
    read(key: EnvKey, now: number): { pairs: Array<[string, number]>; expiresAt: number | null } | undefined {
      const set = sql<{ expires_at: number | null }>(`SELECT expires_at FROM delivery_sets WHERE ${ENV} AND ${LIVE}`).get({ ...key, now });
      if (!set) return undefined;
      const rows = sql<{ id: string; at: number }>(`SELECT id, at FROM deliveries WHERE ${ENV} ORDER BY at, id`).all(key);
      // A set is never empty (as in Redis); rows are only missing if someone deleted them by hand.
      if (rows.length === 0) return undefined;
      return { pairs: rows.map(({ id, at }) => [id, at]), expiresAt: set.expires_at };
    },

    /** Replaces the set, as an import does (DEL, ZADD, PEXPIRE); no pairs leaves none. */
    write(key: EnvKey, pairs: Array<[string, number]>, expiresAt: number | null): void {
      drop(key);
      if (pairs.length === 0) return;
      // ZADD of a member twice keeps its last score.
      const add = sql(`INSERT INTO deliveries (repo_id, pr, id, at) VALUES (@repoId, @pr, @id, @at) ON CONFLICT DO UPDATE SET at = excluded.at`);
      for (const [id, at] of pairs) add.run({ ...key, id, at });
      sql(`INSERT INTO delivery_sets (repo_id, pr, expires_at) VALUES (@repoId, @pr, @expiresAt)`).run({ ...key, expiresAt });
    },

    /** Deletes every expired set with its ids; returns how many rows. */
    sweep(now: number): number {
      return (
        sql(`DELETE FROM deliveries WHERE (repo_id, pr) IN (SELECT repo_id, pr FROM delivery_sets WHERE NOT ${LIVE})`).run({ now }).changes +
        sql(`DELETE FROM delivery_sets WHERE NOT ${LIVE}`).run({ now }).changes
      );
    },
  };
}
