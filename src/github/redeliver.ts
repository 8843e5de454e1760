import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import type { StateStore } from "../lifecycle/state-store.js";
import { httpStatus } from "./github-api.js";

/**
 * Asks GitHub to redeliver the webhooks Ephemera failed to take (DESIGN §8):
 * GitHub never retries a failed delivery by itself. Each failed delivery is
 * asked for once, ever: a redelivery keeps the delivery's guid and GitHub
 * lists it as a new entry with `redelivery: true`, so a guid that has
 * succeeded or been redelivered since (by us or by a person) is left alone,
 * and a mark per guid in the store covers the time before GitHub lists the
 * new attempt, across restarts.
 *
 * Several replicas may run this at once. Each checks a guid's mark before
 * asking and sets it just before the POST; two that race past the check both
 * ask, and GitHub delivers twice. That costs nothing: recording an intent is
 * idempotent by delivery id (`X-GitHub-Delivery`, the same on a redelivery).
 * An atomic set-if-absent in the store port would close the race for no
 * gain, so the port stays as it is. A POST that fails undoes the mark; a
 * process killed between the mark and the POST loses that one redelivery
 * (a graceful stop waits for the run to end, see periodic.ts).
 */

/** What redelivery calls on GitHub: Probot's Octokit, or a plain `@octokit/rest` one (the CLI). */
export type DeliveriesClient = Pick<ProbotOctokit, "paginate" | "request">;

export interface RedeliverDeps {
  /** Authenticated as the App (`await probot.auth()`): the deliveries API refuses installation tokens. */
  appOctokit: DeliveriesClient;
  store: Pick<StateStore, "getMeta" | "setMeta">;
  log: Logger;
  now?: () => number;
  /** How far back GitHub redelivers; older deliveries are not looked at. Default 3 days. */
  windowMs?: number;
}

export interface RedeliveryReport {
  /** Deliveries newer than the cursor (and within the window) looked at. */
  scanned: number;
  /** Guids GitHub was asked to redeliver. */
  redelivered: string[];
  /** Asks GitHub did not take (an error, a rate limit); the next run asks again. */
  failed: number;
  /** The newest delivery id handled with everything before it, or null when none yet. */
  cursor: number | null;
}

interface Delivery {
  id: number;
  guid: string;
  deliveredAt: number;
  redelivery: boolean;
  ok: boolean;
  event: string;
  action: string | null;
}

export const DEFAULT_REDELIVERY_WINDOW_MS = 3 * 24 * 3_600_000;
/**
 * GitHub lists a delivery once it has an answer, which may come after newer
 * ones have been listed (the app has 10 s to answer). The cursor stays this
 * far behind the present so that a late entry is never skipped.
 */
const LISTING_LAG_MS = 60_000;
const CURSOR = "redelivery:cursor";
const ASKED = "asked";
const RETRY = "retry";
const markOf = (guid: string) => `redelivery:asked:${guid}`;

export async function redeliverFailed(deps: RedeliverDeps): Promise<RedeliveryReport> {
  const log = deps.log.child({ name: "redelivery" });
  const now = (deps.now ?? Date.now)();
  const windowMs = deps.windowMs ?? DEFAULT_REDELIVERY_WINDOW_MS;
  const stored = Number(await deps.store.getMeta(CURSOR));
  const cursor = Number.isSafeInteger(stored) && stored > 0 ? stored : null;
  const { deliveries, complete } = await listSince(deps.appOctokit, { cursor, oldest: now - windowMs }, log);

  // Listed newest first, so the later attempts of any delivery seen were seen too.
  const answered = new Set(deliveries.filter((delivery) => delivery.ok || delivery.redelivery).map((delivery) => delivery.guid));
  const report: RedeliveryReport = { scanned: deliveries.length, redelivered: [], failed: 0, cursor };
  // A partial listing leaves a gap between the cursor and what was seen: handle what was seen, keep the cursor.
  let contiguous = complete;
  for (const delivery of deliveries.toReversed()) {
    const handled = answered.has(delivery.guid) || (await redeliverOnce(delivery, { deps, windowMs, log, report }));
    contiguous &&= handled && delivery.deliveredAt <= now - LISTING_LAG_MS;
    if (contiguous) report.cursor = delivery.id;
  }
  if (report.cursor !== cursor) await deps.store.setMeta(CURSOR, String(report.cursor), windowMs);
  if (report.redelivered.length > 0 || report.failed > 0) log.info({ redelivered: report.redelivered.length, failed: report.failed }, "failed webhook deliveries asked for again");
  return report;
}

/** Walks `GET /app/hook/deliveries` back to the cursor or the window; `complete` is false when the listing broke off. */
async function listSince(octokit: DeliveriesClient, bounds: { cursor: number | null; oldest: number }, log: Logger) {
  const deliveries: Delivery[] = [];
  try {
    for await (const { data } of octokit.paginate.iterator("GET /app/hook/deliveries", { per_page: 100 })) {
      for (const item of data) {
        const delivery: Delivery = {
          id: Number(item.id),
          guid: item.guid,
          deliveredAt: Date.parse(item.delivered_at),
          redelivery: item.redelivery,
          ok: item.status === "OK",
          event: item.event,
          action: item.action,
        };
        // Delivery ids grow over time: the cursor and everything older were handled by an earlier run.
        if ((bounds.cursor !== null && delivery.id <= bounds.cursor) || delivery.deliveredAt < bounds.oldest) return { deliveries, complete: true };
        deliveries.push(delivery);
      }
    }
    return { deliveries, complete: true };
  } catch (error) {
    log.warn({ err: error, listed: deliveries.length }, "could not list webhook deliveries; the next run carries on from the same point");
    return { deliveries, complete: false };
  }
}

/** Asks for one unanswered delivery unless asked before; true when nothing is left to do for it. */
async function redeliverOnce(
  delivery: Delivery,
  { deps, windowMs, log, report }: { deps: RedeliverDeps; windowMs: number; log: Logger; report: RedeliveryReport },
): Promise<boolean> {
  const mark = markOf(delivery.guid);
  if ((await deps.store.getMeta(mark)) === ASKED) return true;
  const context = { deliveryId: delivery.id, guid: delivery.guid, event: delivery.event, action: delivery.action };
  // The mark outlives the delivery's redeliverable window: the guid is never asked for twice.
  await deps.store.setMeta(mark, ASKED, windowMs);
  try {
    await deps.appOctokit.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: delivery.id });
    report.redelivered.push(delivery.guid);
    log.info(context, "asked GitHub to redeliver a failed webhook");
    return true;
  } catch (error) {
    const status = httpStatus(error);
    // 404: the delivery is gone; 422: past GitHub's window. Asking again cannot help.
    if (status === 404 || status === 422) {
      log.warn({ ...context, status }, "GitHub will not redeliver this webhook; a resync catches what it carried");
      return true;
    }
    // Undoes the mark (the port has no delete): the next run asks again.
    await deps.store.setMeta(mark, RETRY, windowMs);
    report.failed += 1;
    log.warn({ ...context, err: error }, "GitHub did not take the redelivery request; the next run asks again");
    return false;
  }
}
