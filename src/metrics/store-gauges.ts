import type { Counter, Gauge } from "prom-client";
import { STATUSES, type Status } from "../lifecycle/environment.js";
import { isProvisioned } from "../lifecycle/transitions.js";
import type { StateStore } from "../store/state-store.js";

/** What the scrape-time gauges read. */
export type ScrapedStore = Pick<StateStore, "countByStatus" | "oldestDue" | "admissionCounts">;

interface StoreSample {
  /** When the reads finished (ms). */
  at: number;
  counts: Partial<Record<Status, number>>;
  oldestDue: number | null;
  queued: number;
}

const HOUR_MS = 3_600_000;

/**
 * The values /metrics reads from the store at scrape time, so they always
 * match the store (every replica reports the same fleet-wide numbers) and
 * survive restarts, which an in-memory tally would not. prom-client collects
 * every metric of a scrape at once; they share one read in flight instead of
 * each reading the store. When the store cannot be read the gauges say
 * "unknown" (no status series, NaN), never a stale or zero value that looks
 * healthy; the failed read itself is counted by the instrumented store.
 */
export class StoreGauges {
  private store: ScrapedStore | undefined;
  private inFlight: Promise<StoreSample | null> | undefined;
  /** The sample the environment-hours counter has integrated up to. */
  private integrated: { at: number; provisioned: number } | undefined;

  constructor(private readonly now: () => number) {}

  readFrom(store: ScrapedStore): void {
    this.store = store;
  }

  async showEnvironments(gauge: Gauge<"status">): Promise<void> {
    const sample = await this.sample();
    gauge.reset();
    if (sample === null) return;
    // Every status, 0 included: a series that vanishes at 0 breaks rate() and alerts.
    for (const status of STATUSES) gauge.set({ status }, sample.counts[status] ?? 0);
  }

  async showLag(gauge: Gauge): Promise<void> {
    const sample = await this.sample();
    gauge.set(sample === null ? Number.NaN : Math.max(0, sample.at - (sample.oldestDue ?? sample.at)) / 1000);
  }

  async showQueue(gauge: Gauge): Promise<void> {
    const sample = await this.sample();
    gauge.set(sample?.queued ?? Number.NaN);
  }

  /**
   * Adds the environment-hours since the previous sample: the environments
   * holding resources then, times the time since. Two scrapes sharing one
   * sample add it once; after a failed read, the next one covers the gap.
   */
  async addEnvironmentHours(counter: Counter): Promise<void> {
    const sample = await this.sample();
    if (sample === null) return;
    const previous = this.integrated;
    if (previous !== undefined && sample.at <= previous.at) return;
    const provisioned = STATUSES.filter(isProvisioned).reduce((sum, status) => sum + (sample.counts[status] ?? 0), 0);
    this.integrated = { at: sample.at, provisioned };
    if (previous !== undefined) counter.inc((previous.provisioned * (sample.at - previous.at)) / HOUR_MS);
  }

  private sample(): Promise<StoreSample | null> {
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(): Promise<StoreSample | null> {
    const { store } = this;
    if (store === undefined) return null;
    try {
      const [counts, oldestDue, { queued }] = await Promise.all([store.countByStatus(), store.oldestDue(), store.admissionCounts()]);
      return { at: this.now(), counts, oldestDue, queued };
    } catch {
      // Counted by the instrumented store; the gauges show "unknown" meanwhile.
      return null;
    }
  }
}
