import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { Lifecycle } from "../../src/lifecycle/api.js";
import { Reconciler } from "../../src/lifecycle/reconciler.js";
import { staticSettingsSource } from "../../src/lifecycle/settings.js";
import { instrumentStore } from "../../src/metrics/instrument-store.js";
import { withMetrics } from "../../src/metrics/metrics-notifier.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { RunProvider } from "../../src/providers/run-provider.js";
import { createSealer } from "../../src/lifecycle/sealing.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { EnvFields } from "../../src/lifecycle/state-store.js";
import { closeIntent, FAST, openIntent, operatorConfig, pushIntent, RecordingNotifier, stepWorkspace, testLog } from "../lifecycle/harness.js";
import { waitFor } from "../helpers/wait-for.js";
import { histogramOf, scrape, valueOf } from "./scrape.js";

/**
 * The notifier decorator behind the real reconciler: the event sequences the
 * lifecycle timings are read from are the ones it actually writes.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it("observes time to URL, setup, a failed attempt and teardown from a real reconciler's notices", async () => {
  const ws = stepWorkspace();
  cleanups.push(() => ws.dispose());
  const metrics = createMetrics();
  const raw = openSqliteStore({ file: join(ws.dir, "state.sqlite"), prefix: "ephemera:" });
  cleanups.push(() => raw.close());
  const store = instrumentStore(raw, metrics);
  const recorded = new RecordingNotifier();
  const template = {
    ttl: "2h",
    steps: [
      { name: "build", run: "./step.sh build" },
      { name: "deploy", run: "./step.sh deploy", onUpdate: true, env: { URL: "https://pr.preview.test" } },
    ],
    teardown: [{ name: "undeploy", run: "./step.sh undeploy" }],
  };
  const reconciler = new Reconciler(
    {
      store,
      settings: staticSettingsSource(operatorConfig({ templates: { default: template } })),
      providers: [new RunProvider({ cwd: ws.dir, killGraceMs: 200 })],
      sealer: createSealer("metrics test sealing key"),
      notifier: withMetrics(recorded, { metrics, store }),
      log: testLog(),
    },
    // Attempts enough that the broken step is healed before setup gives up.
    { ...FAST, retry: { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 200, jitter: 0.5 } },
  );
  cleanups.push(() => reconciler.stop());
  const lifecycle = new Lifecycle({ store });
  const key = { repoId: 501, pr: 3 };
  const until = (what: string, predicate: (fields: Partial<EnvFields>) => boolean) =>
    waitFor(async () => {
      const fields = (await store.load(key))?.fields;
      return fields !== undefined && predicate(fields);
    }, what);

  await lifecycle.record(key, openIntent("1".repeat(40)));
  reconciler.start();
  await until("ready", (fields) => fields.status === "ready");

  ws.breakStep("deploy", "flaky");
  await lifecycle.record(key, pushIntent("2".repeat(40)));
  await waitFor(() => recorded.eventsOf(key).includes("step_retry"), "a failed attempt");
  ws.heal("deploy");
  await until("ready for the push", (fields) => fields.status === "ready" && fields.checkpoints?.deploy?.sha === "2".repeat(40));

  await lifecycle.record(key, closeIntent());
  await until("deleted", (fields) => fields.status === "deleted");

  expect(await histogramOf(metrics.registry, "ephemera_time_to_url_seconds")).toMatchObject({ count: 1 });
  expect(await histogramOf(metrics.registry, "ephemera_setup_duration_seconds", { outcome: "ready" })).toMatchObject({ count: 2 });
  expect(await histogramOf(metrics.registry, "ephemera_teardown_duration_seconds")).toMatchObject({ count: 1 });
  const families = await scrape(metrics.registry);
  expect(valueOf(families, "ephemera_step_failures_total", { phase: "setup", step: "deploy" })).toBeGreaterThanOrEqual(1);
  expect(valueOf(families, "ephemera_store_errors_total", { operation: "commit" })).toBeUndefined();
  expect((await histogramOf(metrics.registry, "ephemera_store_operation_duration_seconds", { operation: "commit" }))?.count).toBeGreaterThan(0);
});
