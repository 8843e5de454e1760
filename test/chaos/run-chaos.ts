import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeKeys } from "../../src/store/keys.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { startPrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import type { ChaosOptions } from "./chaos-options.js";
import { createDeliverer } from "./deliverer.js";
import { computeFigures, type FigureReport } from "./figures.js";
import { COMMANDER, liveLife, planLives, type LifeRecord } from "./pr-lives.js";
import { startReplicas } from "./replicas.js";
import { killUnfinishedSteps, stepWorkspace, type StepWorkspace } from "./step-log.js";

/**
 * One chaos run (issue 11): real server processes on one Redis with an
 * append-only file, one fake GitHub serving them all, PR lives delivered to
 * random replicas (duplicates, swapped order, refused deliveries delivered
 * again), a replica killed -9 now and then and started again, Redis killed
 * -9 once and started again from its AOF. Then it waits for convergence and
 * measures what went wrong (see figures.ts).
 */
export interface ChaosReport extends FigureReport {
  converged: boolean;
  /** What happened, for the log: kills, deliveries refused, how long each phase took. */
  notes: string[];
}

const PREFIX = "chaos:";
const REPOS = [
  { repoId: 8101, owner: "acme", name: "web", installationId: 81 },
  { repoId: 8102, owner: "acme", name: "api", installationId: 81 },
  { repoId: 8103, owner: "octo", name: "shop", installationId: 82 },
];
const REPLICA_DOWN_MS = 1_000;

function operatorConfig(steps: StepWorkspace): string {
  return `
templates:
  default:
    ttl: 4h
    maxTtl: 2d
    steps:
      - name: prepare
        run: ${steps.command("prepare", 0.3)}
      - name: deploy
        run: ${steps.command("deploy", 0.6)}
        onUpdate: true
    teardown:
      - name: undeploy
        run: ${steps.command("undeploy", 0.3)}
limits: { maxActivePerRepo: 2000, maxActive: 5000 }
`;
}

/** A small seeded generator (mulberry32): the same seed, the same lives and choices. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function runChaos(options: ChaosOptions, log: (line: string) => void = () => undefined): Promise<ChaosReport> {
  const random = seeded(options.seed);
  const notes: string[] = [];
  const note = (line: string) => {
    notes.push(line);
    log(line);
  };
  const dir = mkdtempSync(join(tmpdir(), "ephemera-chaos-"));
  const steps = stepWorkspace(dir);
  writeFileSync(join(dir, "ephemera.config.yml"), operatorConfig(steps));
  const credentials = testAppCredentials();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    const gh: FakeGitHub = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY, rateLimit: 1_000_000 });
    cleanups.push(() => gh.close());
    for (const repo of REPOS) {
      gh.addRepo({ id: repo.repoId, owner: repo.owner, name: repo.name, installationId: repo.installationId });
      gh.setPermission(`${repo.owner}/${repo.name}`, COMMANDER, "write");
    }
    const redis = await startPrivateRedis({ appendfsync: options.appendfsync });
    cleanups.push(() => redis.stop());
    const replicas = await startReplicas(
      options.replicas,
      {
        ...credentials,
        ...gh.env,
        REDIS_URL: redis.url,
        EPHEMERA_KEY_PREFIX: PREFIX,
        EPHEMERA_CONFIG: join(dir, "ephemera.config.yml"),
        // Resync is what repairs a delivery the store lost (appendfsync everysec); the rest would only add noise.
        EPHEMERA_RESYNC_INTERVAL: "30s",
        EPHEMERA_REDELIVERY_INTERVAL: "24h",
        EPHEMERA_AUDIT_INTERVAL: "24h",
      },
      dir,
    );
    cleanups.push(() => replicas.stopAll());
    cleanups.push(() => {
      for (const [i, incarnation] of replicas.incarnations.entries()) writeFileSync(join(dir, `${incarnation.replica}.${i}.log`), incarnation.output());
      writeFileSync(join(dir, "github-requests.jsonl"), gh.requests.map((r) => JSON.stringify({ ms: r.receivedAtMs, method: r.method, path: r.path, status: r.status, body: r.method === "GET" ? undefined : r.body })).join("\n"));
      writeFileSync(join(dir, "deliveries.jsonl"), deliverer.deliveries.map((d) => JSON.stringify({ guid: d.guid, event: d.event, action: (d.payload as { action?: string }).action, key: d.key, firstSentAt: d.firstSentAt, answers: d.answers })).join("\n"));
    });
    cleanups.push(() => note(`killed ${killUnfinishedSteps(steps)} step process group(s) still running at the end`));
    const store = createRedisStore({ url: redis.url, prefix: PREFIX });
    cleanups.push(() => store.close());
    const deliverer = createDeliverer({ replicas, secret: credentials.WEBHOOK_SECRET, random, duplicateShare: options.duplicateShare });

    const durationMs = options.durationSeconds * 1000;
    const records: LifeRecord[] = planLives(options.lives, REPOS, durationMs, random, options.openAtEndShare).map((plan) => ({ plan }));
    const startedAt = Date.now();
    let chaosOver = false;
    const redeliveries = (async () => {
      while (!chaosOver || deliverer.pending() > 0) {
        await deliverer.tick();
        await sleep(250);
      }
    })();
    const kills = (async () => {
      if (options.killIntervalSeconds === 0) return;
      for (;;) {
        await sleep(options.killIntervalSeconds * 1000 * (0.5 + random()));
        if (chaosOver) return;
        const victim = replicas.pick(random);
        note(`${((Date.now() - startedAt) / 1000).toFixed(1)} s: kill -9 ${victim.name}`);
        await replicas.killAndRestart(victim, REPLICA_DOWN_MS);
      }
    })();
    let redisOutage: { killedAt: number; restartedAt: number } | undefined;
    const disk = options.redisCrash === "machine" ? lastFsyncedAof(redis.dir, options.appendfsync) : undefined;
    cleanups.push(() => disk?.stop());
    const redisKill = (async () => {
      if (options.redisKillAt === 0) return;
      await sleep(options.redisKillAt * durationMs);
      note(`${((Date.now() - startedAt) / 1000).toFixed(1)} s: kill -9 redis (appendfsync ${options.appendfsync}, ${options.redisCrash} crash), down ${options.redisDownSeconds} s`);
      const killedAt = Date.now();
      await redis.kill();
      disk?.powerLoss();
      await sleep(options.redisDownSeconds * 1000);
      await redis.start();
      redisOutage = { killedAt, restartedAt: Date.now() };
    })();
    await Promise.all(
      records.map(async (record) => {
        await sleep(record.plan.startAfterMs);
        await liveLife(record, { gh, deliverer, random, reorderShare: options.reorderShare });
      }),
    );
    await redisKill;
    chaosOver = true;
    await kills;
    await redeliveries;
    note(`${((Date.now() - startedAt) / 1000).toFixed(1)} s: every delivery answered 2xx; ${deliverer.deliveries.length} deliveries, ${deliverer.deliveries.reduce((sum, d) => sum + d.answers.length, 0)} attempts`);

    const converged = await waitForConvergence({ records, store, gh, timeoutMs: options.settleSeconds * 1000 });
    note(`${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${converged ? "converged" : `not converged within ${options.settleSeconds} s`}`);
    const report = await computeFigures({
      lives: records,
      gh,
      store,
      redis: redis.client(),
      keys: makeKeys(PREFIX),
      steps: steps.lines(),
      markers: steps.markers(),
      incarnations: replicas.incarnations,
      deliveries: deliverer.deliveries,
      redisOutage,
      onUpdateSteps: new Set(["deploy"]),
    });
    return { ...report, converged, notes };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    if (options.keepDir) note(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What a power loss leaves of Redis's AOF: with `everysec`, the files as
 * they were at the last fsync — a copy taken every second stands for it;
 * with `always`, everything (each write was fsynced before its reply).
 */
function lastFsyncedAof(dir: string, appendfsync: ChaosOptions["appendfsync"]): { powerLoss(): void; stop(): void } {
  const aof = join(dir, "appendonlydir");
  const synced = join(dir, "appendonlydir.synced");
  const timer = setInterval(() => {
    if (!existsSync(aof)) return;
    rmSync(`${synced}.tmp`, { recursive: true, force: true });
    cpSync(aof, `${synced}.tmp`, { recursive: true });
    rmSync(synced, { recursive: true, force: true });
    renameSync(`${synced}.tmp`, synced);
  }, 1_000);
  return {
    powerLoss() {
      clearInterval(timer);
      if (appendfsync === "always" || !existsSync(synced)) return;
      rmSync(aof, { recursive: true, force: true });
      renameSync(synced, aof);
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Closed PRs deleted, open ones ready at their last push, GitHub showing
 * that (what the notifier's catch-up repairs counts: it runs every resync
 * interval), and GitHub quiet for 3 s. What never gets there by the
 * deadline is what the figures report.
 */
async function waitForConvergence({ records, store, gh, timeoutMs }: { records: LifeRecord[]; store: ReturnType<typeof createRedisStore>; gh: FakeGitHub; timeoutMs: number }): Promise<boolean> {
  const settled = async () => {
    for (const { plan } of records) {
      const snapshot = await store.load({ repoId: plan.scenario.repoId, pr: plan.scenario.pr });
      const deployments = gh.deploymentsOf(`${plan.scenario.owner}/${plan.scenario.name}`, `preview/pr-${plan.scenario.pr}`);
      const last = plan.shas.at(-1);
      const done = plan.closes
        ? (snapshot === null || snapshot.fields.status === "deleted") && deployments.every((d) => d.statuses.at(-1)?.state === "inactive")
        : snapshot?.fields.status === "ready" && snapshot.fields.checkpoints?.deploy?.sha === last && deployments.some((d) => d.sha === last && d.statuses.at(-1)?.state === "success");
      if (!done) return false;
    }
    return true;
  };
  const quiet = () => Date.now() - (gh.requests.at(-1)?.receivedAtMs ?? 0) >= 3_000;
  // Every half second: each look loads every PR's record.
  return waitFor(async () => quiet() && (await settled()), "convergence", timeoutMs, 500).then(
    () => true,
    () => false,
  );
}
