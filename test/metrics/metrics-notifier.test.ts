import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EnvKey, Status } from "../../src/lifecycle/environment.js";
import { lifecycleEvent, type EnvironmentNotice, type LifecycleEvent, type Notifier } from "../../src/lifecycle/notifier.js";
import type { StatusOrNew } from "../../src/lifecycle/transitions.js";
import { instrumentStore } from "../../src/metrics/instrument-store.js";
import { withMetrics } from "../../src/metrics/metrics-notifier.js";
import { createMetrics, type Metrics } from "../../src/metrics/registry.js";
import { openSqliteStore, type SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { EnvFields } from "../../src/lifecycle/state-store.js";
import { histogramOf, scrape, valueOf } from "./scrape.js";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-03-01T12:00:00.000Z");
const KEY: EnvKey = { repoId: 77, pr: 5 };

class RecordingNotifier implements Notifier {
  readonly notices: EnvironmentNotice[] = [];
  async environmentChanged(notice: EnvironmentNotice): Promise<void> {
    this.notices.push(notice);
  }
}

let dir: string;
let store: SqliteStore;
let metrics: Metrics;
let inner: RecordingNotifier;
let notifier: Notifier;
let status: StatusOrNew;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-metrics-"));
  store = openSqliteStore({ dataDir: dir, prefix: "ephemera:" });
  metrics = createMetrics();
  inner = new RecordingNotifier();
  notifier = withMetrics(inner, { metrics, store });
  status = "new";
  await store.acquireLease(KEY, "lease", "worker", HOUR);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the reconciler does for one event: commit it through the store port, then notify. */
async function happen(event: LifecycleEvent, seconds: number, change: { status?: Status; failedStep?: string; detail?: string } = {}) {
  const entry = lifecycleEvent(event, T0 + seconds * 1000, change.detail);
  const set: Partial<EnvFields> = {
    ...(change.status && { status: change.status }),
    ...(change.failedStep && { artifacts: { deployments: {}, outputs: {}, error: { step: change.failedStep, message: "exit 1" } } }),
  };
  expect(await store.commit(KEY, { name: "lease", owner: "worker" }, { set, events: [entry], dueAt: null, keyTtlMs: HOUR })).toBe("committed");
  const loaded = await store.load(KEY);
  const notice: EnvironmentNotice = { key: KEY, fields: loaded?.fields ?? {}, previousStatus: status, events: [entry] };
  status = change.status ?? status;
  await notifier.environmentChanged(notice);
  return notice;
}

describe("withMetrics", () => {
  it("turns provisioning, a retried step, ready, teardown and deleted into the lifecycle metrics, and passes every notice on", async () => {
    const sent = [
      await happen("queued", 0, { status: "queued", detail: "position 1" }),
      await happen("provisioning", 10, { status: "provisioning" }),
      await happen("step_started", 11, { detail: "deploy" }),
      await happen("step_retry", 20, { failedStep: "deploy", detail: "deploy: attempt 1 failed" }),
      await happen("step_started", 30, { detail: "deploy" }),
      await happen("step_completed", 70, { detail: "deploy" }),
      await happen("ready", 75, { status: "ready", detail: "https://pr-5.preview.test" }),
      await happen("teardown_started", 1000, { status: "tearing_down", detail: "closed" }),
      await happen("teardown_retry", 1010, { failedStep: "undeploy", detail: "teardown:undeploy: attempt 1 failed" }),
      await happen("teardown_step", 1030, { detail: "teardown:undeploy" }),
      await happen("deleted", 1032, { status: "deleted", detail: "closed" }),
    ];
    expect(inner.notices).toEqual(sent);

    const families = await scrape(metrics.registry);
    expect(await histogramOf(metrics.registry, "ephemera_time_to_url_seconds")).toEqual({ count: 1, sum: 75 });
    expect(await histogramOf(metrics.registry, "ephemera_setup_duration_seconds", { outcome: "ready" })).toEqual({ count: 1, sum: 65 });
    expect(await histogramOf(metrics.registry, "ephemera_setup_duration_seconds", { outcome: "failed" })).toBeUndefined();
    expect(await histogramOf(metrics.registry, "ephemera_teardown_duration_seconds")).toEqual({ count: 1, sum: 32 });
    expect(valueOf(families, "ephemera_step_failures_total", { phase: "setup", step: "deploy" })).toBe(1);
    expect(valueOf(families, "ephemera_step_failures_total", { phase: "teardown", step: "undeploy" })).toBe(1);
  });

  it("times a failed setup, counts its last attempt, and gives no time to URL to a later run", async () => {
    await happen("provisioning", 0, { status: "provisioning" });
    await happen("step_started", 1, { detail: "deploy" });
    await happen("failed", 9, { status: "failed", failedStep: "deploy", detail: "deploy" });
    await happen("step_started", 100, { status: "provisioning", detail: "deploy" });
    await happen("ready", 130, { status: "ready" });

    const families = await scrape(metrics.registry);
    expect(await histogramOf(metrics.registry, "ephemera_setup_duration_seconds", { outcome: "failed" })).toEqual({ count: 1, sum: 9 });
    expect(await histogramOf(metrics.registry, "ephemera_setup_duration_seconds", { outcome: "ready" })).toEqual({ count: 1, sum: 30 });
    expect(await histogramOf(metrics.registry, "ephemera_time_to_url_seconds")).toEqual({ count: 0, sum: 0 });
    expect(valueOf(families, "ephemera_step_failures_total", { phase: "setup", step: "deploy" })).toBe(1);
  });

  it("still tells the inner notifier when the event log cannot be read, and counts the failed read", async () => {
    const broken = instrumentStore({ ...store, load: () => Promise.reject(new Error("store down")) }, metrics);
    notifier = withMetrics(inner, { metrics, store: broken });
    const notice = await happen("ready", 5, { status: "ready" });
    expect(inner.notices).toEqual([notice]);
    const families = await scrape(metrics.registry);
    expect(valueOf(families, "ephemera_store_errors_total", { operation: "load" })).toBe(1);
    expect(await histogramOf(metrics.registry, "ephemera_setup_duration_seconds", { outcome: "ready" })).toBeUndefined();
  });

  it("lets the inner notifier's failure reach the reconciler, which logs it", async () => {
    notifier = withMetrics({ environmentChanged: () => Promise.reject(new Error("GitHub down")) }, { metrics, store });
    await expect(happen("step_retry", 5, { failedStep: "deploy" })).rejects.toThrow("GitHub down");
    expect(valueOf(await scrape(metrics.registry), "ephemera_step_failures_total", { phase: "setup", step: "deploy" })).toBe(1);
  });
});
