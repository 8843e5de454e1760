import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { instrumentStore } from "../../src/metrics/instrument-store.js";
import { createMetrics, type Metrics } from "../../src/metrics/registry.js";
import { openSqliteStore, type SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { histogramOf, scrape, valueOf } from "./scrape.js";

let dir: string;
let raw: SqliteStore;
let metrics: Metrics;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ephemera-instrument-"));
  raw = openSqliteStore({ dataDir: dir, prefix: "ephemera:" });
  metrics = createMetrics();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("times every call and passes its result and the adapter's properties through", async () => {
  const store = instrumentStore(raw, metrics);
  expect(store.kind).toBe("sqlite");
  await store.setMeta("cursor", "abc", null);
  expect(await store.getMeta("cursor")).toBe("abc");
  expect(await histogramOf(metrics.registry, "ephemera_store_operation_duration_seconds", { operation: "getMeta" })).toMatchObject({ count: 1 });
  expect(await histogramOf(metrics.registry, "ephemera_store_operation_duration_seconds", { operation: "setMeta" })).toMatchObject({ count: 1 });
  expect(valueOf(await scrape(metrics.registry), "ephemera_store_errors_total", { operation: "getMeta" })).toBeUndefined();
  await raw.close();
});

it("counts a failing call by method and rethrows its error unchanged", async () => {
  const corrupt = new Error("stored field \"status\" is not valid");
  const store = instrumentStore({ ...raw, load: () => Promise.reject(corrupt) }, metrics);
  await expect(store.load({ repoId: 1, pr: 1 })).rejects.toBe(corrupt);
  // A store that cannot be reached at all.
  await raw.close();
  await expect(store.ping()).rejects.toThrow(/not open/);
  await expect(store.ping()).rejects.toThrow(/not open/);

  const families = await scrape(metrics.registry);
  expect(valueOf(families, "ephemera_store_errors_total", { operation: "load" })).toBe(1);
  expect(valueOf(families, "ephemera_store_errors_total", { operation: "ping" })).toBe(2);
  expect(await histogramOf(metrics.registry, "ephemera_store_operation_duration_seconds", { operation: "ping" })).toMatchObject({ count: 2 });
});
