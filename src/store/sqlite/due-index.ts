import type { EnvKey } from "../../lifecycle/environment.js";
import type { Sql } from "./connection.js";

export type DueIndex = ReturnType<typeof dueIndex>;

/** The `due` table: when each environment is next due. Rows read back as EnvKeys. */
export function dueIndex(sql: Sql) {
  const set = (key: EnvKey, dueAt: number) => {
    sql(
      `INSERT INTO due (repo_id, pr, due_at) VALUES (@repoId, @pr, @dueAt)
       ON CONFLICT (repo_id, pr) DO UPDATE SET due_at = excluded.due_at`,
    ).run({ ...key, dueAt });
  };

  return {
    get(key: EnvKey): number | null {
      return sql<{ due_at: number }>("SELECT due_at FROM due WHERE repo_id = @repoId AND pr = @pr").get(key)?.due_at ?? null;
    },

    /** The earliest due time, from the `due_by_time` index (no scan); null when the table is empty. */
    earliest(): number | null {
      return sql<{ at: number | null }>("SELECT min(due_at) AS at FROM due").get()?.at ?? null;
    },

    /** Sets the time, or takes the environment out of the index (null). */
    replace(key: EnvKey, dueAt: number | null): void {
      if (dueAt === null) sql("DELETE FROM due WHERE repo_id = @repoId AND pr = @pr").run(key);
      else set(key, dueAt);
    },

    /** Marks it due at `dueAt` unless it is due earlier already. */
    bringForward(key: EnvKey, dueAt: number): void {
      sql(
        `INSERT INTO due (repo_id, pr, due_at) VALUES (@repoId, @pr, @dueAt)
         ON CONFLICT (repo_id, pr) DO UPDATE SET due_at = min(due_at, excluded.due_at)`,
      ).run({ ...key, dueAt });
    },

    /**
     * Oldest due first, each pushed to `now + hideMs`, 1 ms apart in the
     * order claimed so that those not worked come back oldest first still.
     * Call inside an immediate transaction.
     */
    claim(now: number, limit: number, hideMs: number): EnvKey[] {
      const claimed = sql<EnvKey>(
        "SELECT repo_id AS repoId, pr FROM due WHERE due_at <= @now ORDER BY due_at, repo_id, pr LIMIT @limit",
      ).all({ now, limit });
      claimed.forEach((key, rank) => set(key, now + hideMs + rank));
      return claimed;
    },

    /** Deletes the entries of environments that have no key left; returns how many. */
    forgetVanished(): number {
      return sql(
        "DELETE FROM due WHERE NOT EXISTS (SELECT 1 FROM env_keys WHERE env_keys.repo_id = due.repo_id AND env_keys.pr = due.pr)",
      ).run().changes;
    },
  };
}
