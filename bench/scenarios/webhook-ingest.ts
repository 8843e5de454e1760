import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type http from "node:http";
import type { Redis } from "ioredis";
import { startPrivateRedis } from "../../test/helpers/redis-server.js";
import { startProcess, type BenchProcess } from "../lib/app.js";
import type { BenchContext, ScenarioResult } from "../lib/context.js";
import { figure, type Figure } from "../lib/figures.js";
import { keepAliveAgent, runLoad, type LoadResult } from "../lib/load.js";
import type { GitHub } from "../lib/services.js";
import { percentile, round } from "../lib/stats.js";
import { WEBHOOK_PATH, synchronizeLoad, type SynchronizeLoad } from "../lib/webhooks.js";
import { ingestFigures, reportProfiles, summariseProfiles, type IngestServer, type Kind, type Round } from "./ingest-report.js";
import { commandsPer, type RoundTripFigures, redisReads, roundTripsPerWebhook, storeCallCount } from "./store-round-trips.js";

/**
 * Scenarios 1, 2 and 6. Signed `pull_request.synchronize` deliveries over
 * keep-alive HTTP at a fixed concurrency to three servers, each its own
 * process: the floor (a bare node:http server that verifies the HMAC and
 * parses the JSON), Ephemera on Redis, Ephemera on the embedded SQLite
 * store. After a warm-up each, the rounds take turns (floor, Redis, SQLite,
 * floor, …) so that drift on the machine hits all three alike, and each
 * round starts only once the previous server has gone quiet (Ephemera's
 * reconciler folds the pushes in after the answers). Scenario 2 (the store
 * round trips of one webhook, on each adapter) runs first, on the same
 * servers while they have nothing else to do.
 */

const FLOOR_SCRIPT = resolve(import.meta.dirname, "../lib/floor-server.ts");
const REPO = { repoId: 8101, owner: "bench", name: "ingest", installationId: 81 };
const SHA = "5".repeat(40);
const QUIET_MAX_MS = 8000;

interface Server extends IngestServer {
  process: BenchProcess;
  /** `concurrency` keep-alive sockets, and one for the unloaded latency. */
  agent: http.Agent;
  soloAgent: http.Agent;
}

type ByKind = (kind: Kind) => Server;

export async function webhookIngest(ctx: BenchContext, github: GitHub): Promise<ScenarioResult> {
  const { concurrency, prs } = ctx.options.ingest;
  const repo = github.fake.addRepo({ id: REPO.repoId, owner: REPO.owner, name: REPO.name, installationId: REPO.installationId });
  for (let pr = 1; pr <= prs; pr++) github.fake.setPull(repo, { number: pr, head: { sha: SHA, ref: "feature" } });
  const load = synchronizeLoad({ scenario: REPO, prs, secret: github.credentials.WEBHOOK_SECRET, sha: SHA });

  const redis = await startPrivateRedis();
  ctx.defer(() => redis.stop());
  const servers = await startServers(ctx, github, redis.url);
  const byKind: ByKind = (kind) => servers.find((server) => server.kind === kind) as Server;

  // Scenario 2 first, on servers with nothing else to do (the load of scenario 1 leaves GitHub updates behind for a minute).
  const trips = await roundTrips(ctx, byKind, redis.client(), load);
  await ingestRounds(ctx, servers, load);
  for (const server of servers) await server.process.stop();
  const profiles = ctx.profileDir ? summariseProfiles(ctx.profileDir, servers) : undefined;
  if (profiles) reportProfiles(ctx, profiles);

  const floor = byKind("floor");
  const webhooks = ctx.options.roundTrips.webhooks;
  return {
    figures: [
      ...ingestFigures("1 webhook ingest (Redis)", byKind("redis"), floor, trips.redis, trips.floor),
      roundTripFigure("2 store round trips (Redis)", "round trips per webhook, hot path", trips.redis, `INFO stats total_reads_processed per webhook, ${webhooks} paced webhooks`),
      ...ingestFigures("6 webhook ingest (SQLite)", byKind("sqlite"), floor, trips.sqlite, trips.floor),
      roundTripFigure("6 store round trips (SQLite)", "store transactions per webhook, hot path", trips.sqlite, `store port calls per webhook from /metrics, ${webhooks} paced webhooks`),
    ],
    details: {
      ingest: {
        concurrency,
        prs,
        bodyBytes: load.bodyBytes,
        rounds: Object.fromEntries(servers.map((server) => [server.kind, server.rounds])),
        soloRounds: Object.fromEntries(servers.map((server) => [server.kind, server.solo])),
        roundTrips: { redis: trips.redis, sqlite: trips.sqlite, floorLatenciesMs: trips.floor.latenciesMs, redisCommandsPerWebhookWithBackground: trips.commandsPerWebhook },
        ...(profiles ? { profiles } : {}),
      },
    },
  };
}

/** Scenario 2 on both adapters; the floor takes its turn too, with no counter: its paced latencies are the floor of "one webhook on an idle server". */
async function roundTrips(ctx: BenchContext, byKind: ByKind, redis: Redis, load: SynchronizeLoad) {
  const webhooks = ctx.options.roundTrips.webhooks;
  ctx.progress(`2: ${webhooks} webhooks to each server, one at a time and paced; store round trips counted per webhook`);
  const targets = [redisReads(byKind("redis").process, redis), await storeCallCount(byKind("sqlite").process), { app: byKind("floor").process, read: async () => 0 }];
  const { result, perWebhook } = await commandsPer(redis, webhooks + 1, () => roundTripsPerWebhook(targets, load, webhooks));
  const [redisTrips, sqliteTrips, floorTrips] = result as [RoundTripFigures, RoundTripFigures, RoundTripFigures];
  return { redis: redisTrips, sqlite: sqliteTrips, floor: floorTrips, commandsPerWebhook: perWebhook };
}

/** Scenario 1's rounds: a warm-up each, then the servers take turns, at full concurrency and then at 1. */
async function ingestRounds(ctx: BenchContext, servers: Server[], load: SynchronizeLoad): Promise<void> {
  const { concurrency, warmupMs, rounds } = ctx.options.ingest;
  ctx.progress(`1: ${load.bodyBytes.toLocaleString("en-US")}-byte signed synchronize payloads, ${concurrency} keep-alive connections, warm-up ${warmupMs / 1000} s each`);
  for (const server of servers) {
    await drive(server, load, ctx, warmupMs);
    await quiet(server.process);
  }
  for (let round = 1; round <= rounds; round++) {
    ctx.progress(`1: round ${round} of ${rounds}`);
    for (const server of servers) {
      const measured = await measure(server, load, ctx);
      server.rounds.push({ ...measured, quietAfterMs: await quiet(server.process) });
    }
  }
  ctx.progress(`1: latency without queueing: ${rounds} rounds at concurrency 1`);
  for (let round = 1; round <= rounds; round++) {
    for (const server of servers) {
      const measured = await measure(server, load, ctx, true);
      server.solo.push({ ...measured, quietAfterMs: await quiet(server.process) });
    }
  }
}

function roundTripFigure(scenario: string, name: string, trips: RoundTripFigures, how: string): Figure {
  return figure({
    scenario,
    figure: name,
    unit: "count",
    value: trips.median,
    floor: 1,
    goal: { text: "1", met: trips.median <= 1 },
    note: `${how}; seen: ${JSON.stringify(trips.histogram)}`,
  });
}

async function startServers(ctx: BenchContext, github: GitHub, redisUrl: string): Promise<Server[]> {
  const dirFor = (name: string) => {
    const dir = join(ctx.workDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  // Background jobs (resync, redelivery) run once at start-up; pushed far apart so no round meets them.
  const quietJobs = { EPHEMERA_RESYNC_INTERVAL: "24h", EPHEMERA_REDELIVERY_INTERVAL: "24h" };
  const profileDir = ctx.profileDir;
  const specs: Array<{ kind: Kind; start: () => Promise<BenchProcess> }> = [
    {
      kind: "floor",
      start: () => startProcess({ name: "floor", script: FLOOR_SCRIPT, env: { WEBHOOK_SECRET: github.credentials.WEBHOOK_SECRET }, dir: dirFor("floor"), ...(profileDir ? { profileDir } : {}) }),
    },
    {
      kind: "redis",
      start: () =>
        startProcess({
          name: "ephemera-redis",
          env: { ...github.appEnv, ...quietJobs, REDIS_URL: redisUrl, EPHEMERA_KEY_PREFIX: "ingest:" },
          dir: dirFor("ephemera-redis"),
          ...(profileDir ? { profileDir } : {}),
        }),
    },
    {
      kind: "sqlite",
      start: () =>
        startProcess({
          name: "ephemera-sqlite",
          env: { ...github.appEnv, ...quietJobs, EPHEMERA_DATA_DIR: join(dirFor("ephemera-sqlite"), "data") },
          dir: dirFor("ephemera-sqlite"),
          ...(profileDir ? { profileDir } : {}),
        }),
    },
  ];
  const servers: Server[] = [];
  for (const spec of specs) {
    const process = await spec.start();
    ctx.defer(() => process.stop());
    const agent = keepAliveAgent(ctx.options.ingest.concurrency);
    const soloAgent = keepAliveAgent(1);
    ctx.defer(() => {
      agent.destroy();
      soloAgent.destroy();
    });
    servers.push({ kind: spec.kind, process, agent, soloAgent, rounds: [], solo: [] });
  }
  return servers;
}

async function drive(server: Server, load: SynchronizeLoad, ctx: BenchContext, durationMs: number, solo = false): Promise<LoadResult> {
  const { maxRequestsPerRound } = ctx.options.ingest;
  const concurrency = solo ? 1 : ctx.options.ingest.concurrency;
  const result = await runLoad(solo ? server.soloAgent : server.agent, {
    port: server.process.port,
    path: WEBHOOK_PATH,
    concurrency,
    durationMs,
    maxRequests: maxRequestsPerRound,
    request: (n) => load.request(n),
  });
  const ok = result.statuses[200] ?? 0;
  if (result.failed > 0 || ok !== result.completed) {
    throw new Error(`${server.process.name}: ${result.failed} failed, statuses ${JSON.stringify(result.statuses)}\n${server.process.tail()}`);
  }
  return result;
}

async function measure(server: Server, load: SynchronizeLoad, ctx: BenchContext, solo = false): Promise<Round> {
  const cpuBefore = server.process.cpuMs();
  const result = await drive(server, load, ctx, solo ? ctx.options.ingest.soloMs : ctx.options.ingest.roundMs, solo);
  const serverCpuMs = server.process.cpuMs() - cpuBefore;
  return {
    throughput: round((result.completed / result.elapsedMs) * 1000, 1),
    p50: round(percentile(result.latenciesMs, 50)),
    p99: round(percentile(result.latenciesMs, 99)),
    serverCpuMsPerRequest: round(serverCpuMs / result.completed, 4),
    clientCpuShare: round(result.clientCpuMs / result.elapsedMs),
    completed: result.completed,
  };
}

/**
 * Waits until the process has used under 5% of a core for 300 ms (its
 * backlog is done), at most QUIET_MAX_MS: after a round, Ephemera's GitHub
 * updates for the pushed PRs trickle on at GitHub's write throttle for
 * longer than that. Returns how long it waited.
 */
async function quiet(server: BenchProcess): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < QUIET_MAX_MS) {
    const before = server.cpuMs();
    await new Promise((done) => setTimeout(done, 300));
    if (server.cpuMs() - before < 15) break;
  }
  return Date.now() - started;
}
