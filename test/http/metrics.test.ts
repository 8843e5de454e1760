import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { metricsHandler } from "../../src/http/metrics.js";
import { STATUSES, type EnvKey, type Status } from "../../src/lifecycle/environment.js";
import { instrumentStore } from "../../src/metrics/instrument-store.js";
import { createMetrics, type Metrics } from "../../src/metrics/registry.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { StateStore } from "../../src/lifecycle/state-store.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { defaultMetricNames, parseScrape, valueOf, type Scrape } from "../metrics/scrape.js";

const HOUR = 3_600_000;

/** Every metric Ephemera defines (DESIGN §8); the rest of /metrics must be Node's default ones. */
const EPHEMERA_METRICS = [
  "ephemera_environments",
  "ephemera_reconcile_passes_total",
  "ephemera_reconciler_lag_seconds",
  "ephemera_admission_queue_length",
  "ephemera_environment_hours_total",
  "ephemera_time_to_url_seconds",
  "ephemera_setup_duration_seconds",
  "ephemera_teardown_duration_seconds",
  "ephemera_step_failures_total",
  "ephemera_orphans_found_total",
  "ephemera_webhook_duration_seconds",
  "ephemera_github_requests_total",
  "ephemera_github_rate_limit_remaining",
  "ephemera_store_errors_total",
  "ephemera_store_operation_duration_seconds",
  "ephemera_step_isolation",
];

/** An HTTP server with only the /metrics handler, answering 404 where it declines, as Probot's server does. */
async function serve(metrics: Metrics): Promise<{ url: string; server: Server }> {
  const handle = metricsHandler(metrics.registry);
  const server = createServer((req, res) => {
    void handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface Served {
  metrics: Metrics;
  store: StateStore;
  get(path?: string, init?: RequestInit): Promise<Response>;
  scrape(): Promise<Scrape>;
  /** Moves the metrics' clock on, ahead of the real one. */
  later(ms: number): number;
}

const opened: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

/** /metrics served over HTTP for `raw`, with the store instrumented as start.ts wires it. */
async function served(raw: StateStore): Promise<Served> {
  let ahead = 0;
  const metrics = createMetrics({ now: () => Date.now() + ahead });
  const store = instrumentStore(raw, metrics);
  metrics.scrapeStore(store);
  const { url, server } = await serve(metrics);
  opened.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const get = (path = "/metrics", init?: RequestInit) => fetch(`${url}${path}`, init);
  return {
    metrics,
    store,
    get,
    later: (ms) => (ahead += ms),
    async scrape() {
      const response = await get();
      expect(response.status).toBe(200);
      return parseScrape(await response.text());
    },
  };
}

function sqliteStore(): StateStore {
  const dataDir = mkdtempSync(join(tmpdir(), "ephemera-metrics-http-"));
  const store = openSqliteStore({ dataDir, prefix: "ephemera:" });
  opened.push(() => rmSync(dataDir, { recursive: true, force: true }));
  opened.push(() => store.close());
  return store;
}

/** Writes an environment through the store port, as the reconciler does. */
async function commitStatus(store: StateStore, key: EnvKey, status: Status): Promise<void> {
  await store.acquireLease(key, "lease", "test", HOUR);
  await store.commit(key, { name: "lease", owner: "test" }, { set: { status }, dueAt: status === "deleted" ? null : Date.now() - 2000, keyTtlMs: HOUR });
  await store.releaseLease(key, "lease", "test");
}

describe("GET /metrics", () => {
  it("serves the Prometheus text format: every metric named ephemera_…, with HELP, next to Node's default process metrics", async () => {
    const { metrics, get } = await served(sqliteStore());
    metrics.observeWebhook("pull_request.opened", 0.02);
    metrics.countOrphans([{ provider: "postgres", kind: "database" }]);

    const response = await get();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(metrics.registry.contentType);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parseScrape(await response.text());
    const defaults = await defaultMetricNames();
    expect(defaults.has("process_cpu_user_seconds_total")).toBe(true);

    const names = [...families.keys()];
    expect(names.filter((name) => !name.startsWith("ephemera_") && !defaults.has(name))).toEqual([]);
    expect(names.filter((name) => name.startsWith("ephemera_")).sort()).toEqual([...EPHEMERA_METRICS].sort());
    expect([...defaults].filter((name) => !families.has(name))).toEqual([]);
    for (const name of EPHEMERA_METRICS) expect(families.get(name)?.help, name).not.toBe("");
    expect(families.get("ephemera_time_to_url_seconds")?.type).toBe("HISTOGRAM");
    expect(families.get("ephemera_environment_hours_total")?.type).toBe("COUNTER");
    expect(valueOf(families, "ephemera_orphans_found_total", { provider: "postgres", kind: "database" })).toBe(1);
  });

  it("answers GET /metrics only", async () => {
    const { get } = await served(sqliteStore());
    expect((await get("/metrics?debug=1")).status).toBe(200);
    expect((await get("/metrics", { method: "POST" })).status).toBe(404);
    expect((await get("/metrics/extra")).status).toBe(404);
  });

  it("keeps serving while the store is down: its gauges say unknown and the failed reads are counted", async () => {
    const raw = sqliteStore();
    const { scrape } = await served(raw);
    await raw.close();
    await scrape();
    // All metrics are collected at once: a scrape's failed read may only show in the next one.
    const families = await scrape();
    expect(families.get("ephemera_environments")?.metrics ?? []).toEqual([]);
    expect(valueOf(families, "ephemera_reconciler_lag_seconds")).toBeNaN();
    expect(valueOf(families, "ephemera_admission_queue_length")).toBeNaN();
    expect(valueOf(families, "ephemera_store_errors_total", { operation: "countByStatus" })).toBeGreaterThanOrEqual(1);
    expect(families.has("process_cpu_user_seconds_total")).toBe(true);
  });
});

describe.each([
  ["sqlite", async () => sqliteStore()],
  [
    "redis",
    async () => {
      const store = createRedisStore({ url: redis.url, prefix: `ephemera-test-${randomUUID().slice(0, 8)}:` });
      opened.push(() => store.close());
      return store;
    },
  ],
] as const)("GET /metrics against the %s store", (_kind, open) => {
  it("reports environments by status, the queue and the lag as the store has them, read again once the last read is 15 s old", async () => {
    const { store, scrape, later } = await served(await open());
    const statuses: Status[] = ["ready", "ready", "ready", "provisioning", "failed", "queued", "deleted", "deleted"];
    await Promise.all(statuses.map((status, i) => commitStatus(store, { repoId: 300 + (i % 3), pr: i + 1 }, status)));
    const limits = { perRepo: 10, global: 1 };
    await store.admit({ repoId: 300, pr: 1 }, 1, limits);
    await store.admit({ repoId: 302, pr: 6 }, 2, limits);

    let families = await scrape();
    const counts = await store.countByStatus();
    expect(counts).toEqual({ ready: 3, provisioning: 1, failed: 1, queued: 1, deleted: 2 });
    for (const status of STATUSES) expect(valueOf(families, "ephemera_environments", { status }), status).toBe(counts[status] ?? 0);
    expect(valueOf(families, "ephemera_admission_queue_length")).toBe(1);
    expect(valueOf(families, "ephemera_reconciler_lag_seconds")).toBeGreaterThanOrEqual(2);

    await commitStatus(store, { repoId: 300, pr: 1 }, "tearing_down");
    await commitStatus(store, { repoId: 400, pr: 1 }, "pending");
    expect(valueOf(await scrape(), "ephemera_environments", { status: "ready" })).toBe(3);
    later(15_000);
    families = await scrape();
    expect(valueOf(families, "ephemera_environments", { status: "ready" })).toBe(2);
    expect(valueOf(families, "ephemera_environments", { status: "tearing_down" })).toBe(1);
    expect(valueOf(families, "ephemera_environments", { status: "pending" })).toBe(1);
  });
});

let redis: PrivateRedis;
beforeAll(async () => {
  redis = await startPrivateRedis();
});
afterAll(async () => {
  await redis.stop();
});
