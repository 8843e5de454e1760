import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, startPrivateRedis } from "../../test/helpers/redis-server.js";
import { startProcess, type BenchProcess } from "../lib/app.js";
import type { BenchContext, ScenarioResult } from "../lib/context.js";
import { figure } from "../lib/figures.js";
import { githubQuiet, type GitHub } from "../lib/services.js";
import { median, round } from "../lib/stats.js";

/**
 * Scenario 7: what the server spends while its Redis is down. With
 * `REDIS_URL` on a port where nothing listens it keeps serving `/healthz`,
 * answers `/readyz` 503 and reconnects for ever, backing off to once a
 * second (src/store/redis/connection.ts): it must not spin. The figure is
 * its CPU share of one core over a round of a few seconds. **Floor:** the
 * same server, idle, on a Redis that answers. The two take turns.
 */

/** The most of one core an outage may cost: the bar the start-up test held before it moved here. */
const GOAL_SHARE = 0.25;

export async function storeOutageCpu(ctx: BenchContext, github: GitHub): Promise<ScenarioResult> {
  const { rounds, roundMs } = ctx.options.storeOutage;
  const redis = await startPrivateRedis();
  ctx.defer(() => redis.stop());
  const down = await startServer(ctx, github, "ephemera-redis-down", `redis://127.0.0.1:${await freePort()}`);
  const up = await startServer(ctx, github, "ephemera-redis-up", redis.url);
  // Start-up work (the App's identity, resync, redelivery) done before measuring.
  await githubQuiet(github.fake, 1000, 20_000);

  ctx.progress(`7: CPU share with Redis down and up: ${rounds} rounds of ${roundMs / 1000} s each, taking turns`);
  const outage: number[] = [];
  const idle: number[] = [];
  for (let i = 0; i < rounds; i++) {
    outage.push(await cpuShare(down, roundMs));
    idle.push(await cpuShare(up, roundMs));
  }
  const value = median(outage);
  return {
    figures: [
      figure({
        scenario: "7 store outage",
        figure: "server CPU share of one core while Redis is down (floor: idle, Redis up)",
        unit: "share",
        value,
        floor: median(idle),
        goal: { text: `≤ ${GOAL_SHARE} of a core`, met: value <= GOAL_SHARE },
        rounds: outage,
        floorRounds: idle,
      }),
    ],
    details: { storeOutage: { roundMs, outageShare: outage.map((share) => round(share)), idleShare: idle.map((share) => round(share)) } },
  };
}

async function startServer(ctx: BenchContext, github: GitHub, name: string, redisUrl: string): Promise<BenchProcess> {
  const dir = join(ctx.workDir, name);
  mkdirSync(dir, { recursive: true });
  const server = await startProcess({ name, dir, env: { ...github.appEnv, REDIS_URL: redisUrl, EPHEMERA_KEY_PREFIX: "outage:" } });
  ctx.defer(() => server.stop());
  return server;
}

/** The process's CPU time over `ms` of wall time, as a share of one core. */
async function cpuShare(server: BenchProcess, ms: number): Promise<number> {
  const cpuBefore = server.cpuMs();
  const started = performance.now();
  await sleep(ms);
  return (server.cpuMs() - cpuBefore) / (performance.now() - started);
}
