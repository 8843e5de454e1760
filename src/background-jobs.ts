import type { Logger } from "pino";
import type { Probot } from "probot";
import type { InstallationClients } from "./github/installation-clients.js";
import { startPeriodic } from "./github/periodic.js";
import { redeliverFailed } from "./github/redeliver.js";
import { resync } from "./github/resync.js";
import type { Lifecycle } from "./lifecycle/api.js";
import type { AuditBounds } from "./config/env.js";
import type { OperatorConfig } from "./config/operator-config.js";
import { auditClaims } from "./lifecycle/claims.js";
import type { Metrics } from "./metrics/registry.js";
import { auditOrphans } from "./providers/audit.js";
import type { ResourceOwner } from "./lifecycle/provider.js";
import type { StateStore } from "./lifecycle/state-store.js";

export interface JobIntervals {
  resyncMs: number;
  redeliveryMs: number;
  auditMs: number;
}

export interface BackgroundJobsDeps {
  probot: Probot;
  clients: InstallationClients;
  lifecycle: Lifecycle;
  store: StateStore;
  /** Shows what an update that died with a replica would have shown (GitHubNotifier.catchUp). */
  notifier: { catchUp(): Promise<number> };
  owners: readonly ResourceOwner[];
  /** For the audit: which template each environment uses. */
  operator: OperatorConfig;
  auditBounds: AuditBounds;
  metrics: Pick<Metrics, "countOrphans">;
  intervals: JobIntervals;
  log: Logger;
}

/**
 * What runs beside the webhooks (DESIGN §8), each at start-up and then on
 * its interval: resync with GitHub (a PR closed while the app was down is
 * torn down), redelivery of failed webhooks, the notifier's catch-up (every
 * deployment of a torn-down PR made inactive), and the orphan audit. Every
 * one is safe to run on several replicas at once (each module says why).
 */
export function startBackgroundJobs(deps: BackgroundJobsDeps): { stop(): Promise<void> } {
  const { probot, lifecycle, store, log } = deps;
  const jobs = [
    startPeriodic({
      name: "resync",
      everyMs: deps.intervals.resyncMs,
      log: log.child({ name: "resync" }),
      run: () => resync({ store, lifecycle, clientFor: (scope) => deps.clients.forRepository(scope), log: log.child({ name: "resync" }) }),
    }),
    // With resync's interval: both repair what a replica that died left undone.
    startPeriodic({
      name: "notify-catch-up",
      everyMs: deps.intervals.resyncMs,
      log: log.child({ name: "github" }),
      run: () => deps.notifier.catchUp(),
    }),
    startPeriodic({
      name: "redelivery",
      everyMs: deps.intervals.redeliveryMs,
      log: log.child({ name: "redelivery" }),
      run: async () => redeliverFailed({ appOctokit: await probot.auth(), store, log: log.child({ name: "redelivery" }) }),
    }),
  ];
  if (deps.owners.length > 0) {
    const auditLog = log.child({ name: "audit" });
    jobs.push(
      startPeriodic({
        name: "audit",
        everyMs: deps.intervals.auditMs,
        log: auditLog,
        run: async () => {
          const claims = auditClaims(store, deps.operator);
          const report = await auditOrphans({ owners: deps.owners, ...claims, bounds: deps.auditBounds, force: false, dryRun: false, log: auditLog });
          deps.metrics.countOrphans(report.found);
        },
      }),
    );
  }
  return {
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
    },
  };
}
