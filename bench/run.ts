import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BenchContext, ScenarioResult } from "./lib/context.js";
import { renderTable } from "./lib/figures.js";
import { describeMachine } from "./lib/machine.js";
import { parseOptions, wants } from "./lib/options.js";
import { round } from "./lib/stats.js";
import { startGitHub } from "./lib/services.js";
import { githubRequestsPerLifecycle } from "./scenarios/github-requests.js";
import { postgresTimeToReady } from "./scenarios/postgres-ready.js";
import { reaperAtScale } from "./scenarios/reaper-scale.js";
import { startLifecycleApp } from "./scenarios/lifecycle-app.js";
import { storeOutageCpu } from "./scenarios/store-outage.js";
import { webhookIngest } from "./scenarios/webhook-ingest.js";

/**
 * `npm run bench`: starts what the scenarios need (a fake GitHub API, private
 * redis-servers, the real server processes; PostgreSQL if it is down), runs
 * each scenario against Ephemera and against its floor, prints one table and
 * writes bench/results.json. Everything it starts, it stops; everything it
 * creates in PostgreSQL, it drops. See bench/README.md.
 */

/** A run that has not finished by then is stopped: it must never hang CI. */
const HARD_LIMIT_MS = 15 * 60_000;
const RESULTS = resolve(import.meta.dirname, "results.json");

const options = parseOptions(process.argv.slice(2));
const startedAt = new Date();
/** The machine is shared: how busy it was (1-minute load average) says how much to trust absolute figures. */
const loadAtStart = os.loadavg()[0] ?? 0;
const cleanups: Array<() => Promise<void> | void> = [];
const ctx: BenchContext = {
  options,
  workDir: mkdtempSync(join(tmpdir(), "ephemera-bench-")),
  profileDir: options.profile ? resolve(import.meta.dirname, "profiles") : undefined,
  progress: (message) => process.stderr.write(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1).padStart(6)} s] ${message}\n`),
  defer: (cleanup) => void cleanups.push(cleanup),
};
ctx.defer(() => rmSync(ctx.workDir, { recursive: true, force: true }));

let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`bench: clean-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  })();
  return cleaning;
}

const hardLimit = setTimeout(() => {
  process.stderr.write(`bench: still running after ${HARD_LIMIT_MS / 60_000} minutes; stopping\n`);
  void cleanUp().finally(() => process.exit(2));
}, HARD_LIMIT_MS);
hardLimit.unref();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

async function runScenarios(): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const github = await startGitHub(ctx);
  if (wants(options, 1)) results.push(await webhookIngest(ctx, github));
  if (wants(options, 3)) results.push(await reaperAtScale(ctx));
  if (wants(options, 4) || wants(options, 5)) {
    const app = await startLifecycleApp(ctx, github, { postgres: wants(options, 4) });
    if (wants(options, 5)) results.push(await githubRequestsPerLifecycle(ctx, github, app));
    if (wants(options, 4)) results.push(await postgresTimeToReady(ctx, github, app));
  }
  if (wants(options, 7)) results.push(await storeOutageCpu(ctx, github));
  return results;
}

/** Prints the table and a summary, and writes bench/results.json. */
function report(results: ScenarioResult[]): void {
  const figures = results.flatMap((result) => result.figures);
  const skipped = results.flatMap((result) => (result.skipped ? [result.skipped] : []));
  const durationS = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const machine = describeMachine();
  const loadAverage = { start: round(loadAtStart, 2), end: round(os.loadavg()[0] ?? 0, 2) };
  const withGoals = figures.filter((f) => f.goal !== null);
  process.stdout.write(`\n${renderTable(figures)}\n\n`);
  process.stdout.write(`${options.quick ? "quick" : "full"} run, ${durationS} s, on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}\n`);
  process.stdout.write(`1-minute load average at start ${loadAverage.start}, at end ${loadAverage.end} (${machine.cpus} CPUs)\n`);
  process.stdout.write(`goals met: ${withGoals.filter((f) => f.goal?.met).length} of ${withGoals.length}\n`);
  for (const reason of skipped) process.stdout.write(`SKIPPED ${reason}\n`);
  const details = Object.assign({}, ...results.map((result) => result.details)) as Record<string, unknown>;
  const file = { date: startedAt.toISOString(), mode: options.quick ? "quick" : "full", durationS, machine, loadAverage, figures, skipped, details };
  writeFileSync(RESULTS, `${JSON.stringify(file, null, 2)}\n`);
  process.stdout.write(`wrote ${RESULTS}\n`);
}

try {
  ctx.progress(`${options.quick ? "quick" : "full"} run${options.only ? ` of scenarios ${[...options.only].join(", ")}` : ""}`);
  const results = await runScenarios();
  await cleanUp();
  report(results);
  clearTimeout(hardLimit);
  // Clients of libraries (pg pools, keep-alive agents) may hold the loop open: the run is over.
  process.exit(0);
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await cleanUp();
  process.exit(1);
}
