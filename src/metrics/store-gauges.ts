import type { Counter, Gauge } from "prom-client";
import { STATUSES, type Status } from "../lifecycle/environment.js";
import { isProvisioned } from "../lifecycle/transitions.js";
import type { StateStore } from "../lifecycle/state-store.js";

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
/** How long one read of the store serves every scrape: /metrics is open, and a scrape must not cost the store a read each time. */
export const STORE_SAMPLE_MAX_AGE_MS = 15_000;

/**
 * The values /metrics reads from the store, so they match the store (every
 * replica reports the same fleet-wide numbers) and survive restarts, which an
 * in-memory tally would not. The endpoint is unauthenticated, so the store is
 * read at most once every `maxAgeMs`, however often and however many at once
 * scrape: prom-client collects every metric of a scrape at once, and all
 * scrapes share the read in flight and then its sample until it is that old.
 * When the store cannot be read the gauges say "unknown" (no status series,
 * NaN), never a stale or zero value that looks healthy; the failed read
 * itself is counted by the instrumented store, and it too is not retried
 * before `maxAgeMs`.
 */
export class StoreGauges {
  private store: ScrapedStore | undefined;
  private inFlight: Promise<StoreSample | null> | undefined;
  /** The last read's outcome, and when it was asked for. */
  private cached: { at: number; sample: StoreSample | null } | undefined;
  /** The sample the environment-hours counter has integrated up to. */
  private integrated: { at: number; provisioned: number } | undefined;

  constructor(
    private readonly now: () => number,
    private readonly maxAgeMs = STORE_SAMPLE_MAX_AGE_MS,
  ) {}

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
    const { cached } = this;
    if (cached !== undefined && this.now() - cached.at < this.maxAgeMs) return Promise.resolve(cached.sample);
    if (this.inFlight === undefined) {
      const at = this.now();
      this.inFlight = this.read()
        .then((sample) => {
          this.cached = { at, sample };
          return sample;
        })
        .finally(() => {
          this.inFlight = undefined;
        });
    }
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
