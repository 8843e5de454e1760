import { beforeEach, describe, expect, it } from "vitest";
import type { Status } from "../../src/lifecycle/environment.js";
import { createMetrics, type Metrics } from "../../src/metrics/registry.js";
import type { ScrapedStore } from "../../src/metrics/store-gauges.js";
import { scrape, valueOf, type Scrape } from "./scrape.js";

const MINUTE = 60_000;
/** How long one read of the store serves the scrapes after it. */
const SAMPLE_AGE = 15_000;

/** A store whose answers the test sets, counting how often each is read. */
class StubStore implements ScrapedStore {
  counts: Partial<Record<Status, number>> = {};
  due: number | null = null;
  queued = 0;
  down = false;
  reads = 0;

  async countByStatus() {
    this.reads += 1;
    return this.answer(this.counts);
  }
  async oldestDue() {
    return this.answer(this.due);
  }
  async admissionCounts() {
    return this.answer({ active: 0, queued: this.queued });
  }
  private answer<T>(value: T): T {
    if (this.down) throw new Error("store down");
    return value;
  }
}

let now: number;
let stub: StubStore;
let metrics: Metrics;

beforeEach(() => {
  now = Date.parse("2026-03-01T12:00:00.000Z");
  stub = new StubStore();
  metrics = createMetrics({ now: () => now });
  metrics.scrapeStore(stub);
});

const hours = (families: Scrape) => valueOf(families, "ephemera_environment_hours_total");

describe("the store-derived gauges", () => {
  it("report every status, 0 included, and the queue, as the store answers at scrape time", async () => {
    stub.counts = { ready: 3, deleted: 7 };
    stub.queued = 2;
    let families = await scrape(metrics.registry);
    expect(families.get("ephemera_environments")?.metrics).toHaveLength(7);
    expect(valueOf(families, "ephemera_environments", { status: "ready" })).toBe(3);
    expect(valueOf(families, "ephemera_environments", { status: "deleted" })).toBe(7);
    expect(valueOf(families, "ephemera_environments", { status: "queued" })).toBe(0);
    expect(valueOf(families, "ephemera_admission_queue_length")).toBe(2);

    stub.counts = { ready: 2, tearing_down: 1, deleted: 7 };
    now += SAMPLE_AGE;
    families = await scrape(metrics.registry);
    expect(valueOf(families, "ephemera_environments", { status: "ready" })).toBe(2);
    expect(valueOf(families, "ephemera_environments", { status: "tearing_down" })).toBe(1);
  });

  it("report the reconciler lag as how overdue the earliest due time is, 0 when nothing is", async () => {
    stub.due = now - 90_000;
    expect(valueOf(await scrape(metrics.registry), "ephemera_reconciler_lag_seconds")).toBe(90);
    now += SAMPLE_AGE;
    stub.due = now + MINUTE;
    expect(valueOf(await scrape(metrics.registry), "ephemera_reconciler_lag_seconds")).toBe(0);
    now += SAMPLE_AGE;
    stub.due = null;
    expect(valueOf(await scrape(metrics.registry), "ephemera_reconciler_lag_seconds")).toBe(0);
  });

  it("integrate environment-hours over the environments holding resources, between scrapes", async () => {
    stub.counts = { provisioning: 1, ready: 2, queued: 5, pending: 1, deleted: 9 };
    expect(hours(await scrape(metrics.registry))).toBe(0);
    now += 30 * MINUTE;
    stub.counts = { ready: 1, failed: 1, tearing_down: 1 };
    expect(hours(await scrape(metrics.registry))).toBe(1.5);
    now += 60 * MINUTE;
    expect(hours(await scrape(metrics.registry))).toBe(4.5);
  });

  it("read the store once for scrapes that overlap, and add their hours once", async () => {
    stub.counts = { ready: 2 };
    await scrape(metrics.registry);
    now += 60 * MINUTE;
    const reads = stub.reads;
    const [first, second] = await Promise.all([scrape(metrics.registry), scrape(metrics.registry)]);
    expect(stub.reads - reads).toBe(1);
    expect(hours(first)).toBe(2);
    expect(hours(second)).toBe(2);
  });

  it("read the store at most once every 15 s, however often it is scraped, a failed read included", async () => {
    stub.counts = { ready: 2 };
    await scrape(metrics.registry);
    const reads = stub.reads;
    stub.counts = { ready: 5 };
    for (let i = 0; i < 10; i++) {
      now += 1_000;
      expect(valueOf(await scrape(metrics.registry), "ephemera_environments", { status: "ready" })).toBe(2);
    }
    expect(stub.reads).toBe(reads);
    now += 5_000;
    expect(valueOf(await scrape(metrics.registry), "ephemera_environments", { status: "ready" })).toBe(5);
    expect(stub.reads).toBe(reads + 1);

    stub.down = true;
    now += SAMPLE_AGE;
    await scrape(metrics.registry);
    now += 1_000;
    await Promise.all([scrape(metrics.registry), scrape(metrics.registry)]);
    expect(stub.reads).toBe(reads + 2);
  });

  it("say unknown while the store cannot be read, then cover the gap", async () => {
    stub.counts = { ready: 1 };
    stub.due = now - 5000;
    await scrape(metrics.registry);
    stub.down = true;
    now += 60 * MINUTE;
    const families = await scrape(metrics.registry);
    expect(families.get("ephemera_environments")?.metrics ?? []).toEqual([]);
    expect(valueOf(families, "ephemera_reconciler_lag_seconds")).toBeNaN();
    expect(valueOf(families, "ephemera_admission_queue_length")).toBeNaN();
    expect(hours(families)).toBe(0);
    stub.down = false;
    now += 60 * MINUTE;
    expect(hours(await scrape(metrics.registry))).toBe(2);
  });

  it("say unknown before they are given a store", async () => {
    const families = await scrape(createMetrics().registry);
    expect(families.get("ephemera_environments")?.metrics ?? []).toEqual([]);
    expect(valueOf(families, "ephemera_reconciler_lag_seconds")).toBeNaN();
  });
});
