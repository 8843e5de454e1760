import type { EnvKey } from "../../lifecycle/environment.js";
import type { Admission, AdmissionLimits } from "../../lifecycle/state-store.js";
import { ADMISSION_WAKE_LIMIT } from "../keys.js";
import { single, type Sql } from "./connection.js";

/**
 * The `admission` table: who holds a place (admitted = 1) and who waits,
 * ordered by first arrival (ties by repository and PR). The caller runs
 * each function inside an immediate transaction, so counting and taking a
 * place are one step for every connection.
 */

const ME = "repo_id = @repoId AND pr = @pr";

export function admission(sql: Sql) {
  return {
    admit(key: EnvKey, arrivalAt: number, limits: AdmissionLimits): Admission {
      // The first attempt's arrival is the one that counts.
      sql("INSERT OR IGNORE INTO admission (repo_id, pr, arrival_at, admitted) VALUES (@repoId, @pr, @arrivalAt, 0)").run({ ...key, arrivalAt });
      const me = single(sql<{ arrival: number; admitted: 0 | 1 }>(`SELECT arrival_at AS arrival, admitted FROM admission WHERE ${ME}`).get(key));
      if (me.admitted) return { admitted: true, position: 0 };

      const params = { ...key, arrival: me.arrival, perRepo: limits.perRepo };
      const state = single(sql<{ active: number; repoActive: number; blocked: 0 | 1 }>(
        `SELECT
           (SELECT count(*) FROM admission WHERE admitted = 1) AS active,
           (SELECT count(*) FROM admission WHERE admitted = 1 AND repo_id = @repoId) AS repoActive,
           -- an earlier waiter blocks only if its own repository has room now
           EXISTS (
             SELECT 1 FROM admission AS earlier
             WHERE earlier.admitted = 0 AND (earlier.arrival_at, earlier.repo_id, earlier.pr) < (@arrival, @repoId, @pr)
               AND (SELECT count(*) FROM admission AS held WHERE held.admitted = 1 AND held.repo_id = earlier.repo_id) < @perRepo
           ) AS blocked`,
      ).get(params));
      if (state.active < limits.global && state.repoActive < limits.perRepo && !state.blocked) {
        sql(`UPDATE admission SET admitted = 1 WHERE ${ME}`).run(key);
        return { admitted: true, position: 0 };
      }
      const { position } = single(sql<{ position: number }>(
        "SELECT count(*) AS position FROM admission WHERE admitted = 0 AND (arrival_at, repo_id, pr) <= (@arrival, @repoId, @pr)",
      ).get(params));
      return { admitted: false, position };
    },

    /** Leaves the active set and the queue; returns the first waiters, oldest first. */
    release(key: EnvKey): EnvKey[] {
      sql(`DELETE FROM admission WHERE ${ME}`).run(key);
      return sql<EnvKey>(
        "SELECT repo_id AS repoId, pr FROM admission WHERE admitted = 0 ORDER BY arrival_at, repo_id, pr LIMIT @limit",
      ).all({ limit: ADMISSION_WAKE_LIMIT });
    },

    counts(): { active: number; queued: number } {
      return single(sql<{ active: number; queued: number }>(
        "SELECT count(*) FILTER (WHERE admitted = 1) AS active, count(*) FILTER (WHERE admitted = 0) AS queued FROM admission",
      ).get());
    },
  };
}
