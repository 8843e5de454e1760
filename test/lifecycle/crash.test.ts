import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { StateStore } from "../../src/lifecycle/state-store.js";
import { openTestPostgres, type TestPostgres } from "../helpers/postgres.js";
import { closeIntent, openIntent, pushIntent, stepWorkspace, type StepLine, type StepWorkspace } from "./harness.js";
import { waitFor } from "../helpers/wait-for.js";
import { bundleWorker, killOrphanSteps, spawnWorker } from "./worker-spawn.js";
import type { WorkerParams } from "./worker-process.js";
import { SECRET_KEY } from "./world.js";

/**
 * Crash recovery: worker processes sharing one SQLite file are SIGKILLed at
 * step boundaries and mid-step, over and over. A new worker finishes every
 * environment, no step that completed runs again for the same sha, and after
 * teardown nothing is left (no database).
 */

const TRIALS = 24;
const PREFIX = "ephemera:";
const REPO_ID = 401;
const ON_UPDATE = new Set(["deploy"]);

const CONFIG = {
  templates: {
    default: {
      steps: [
        { name: "database", uses: "postgres" },
        { name: "build", run: "./step.sh build 0.2" },
        { name: "seed", run: "./step.sh seed 0.2" },
        { name: "deploy", run: "./step.sh deploy 0.8", onUpdate: true },
      ],
      teardown: [{ name: "undeploy", run: "./step.sh undeploy 0.2" }],
    },
  },
};

let ws: StepWorkspace;
let store: StateStore;
let pg: TestPostgres;
let bundle: string;

beforeAll(async () => {
  bundle = await bundleWorker();
  ws = stepWorkspace();
  store = openSqliteStore({ file: join(ws.dir, "state.sqlite"), prefix: PREFIX });
  pg = openTestPostgres();
});
afterAll(async () => {
  await store.close();
  await pg.dispose();
  ws.dispose();
  rmSync(bundle, { force: true });
});

/** A completed step is identified by its sha only when it re-runs on update; otherwise it never runs again. */
function stepId(env: string, step: string, sha: string): string {
  return ON_UPDATE.has(step) ? `${env}/${step}/${sha}` : `${env}/${step}`;
}

async function completedSteps(envs: readonly EnvKey[]): Promise<Set<string>> {
  const done = new Set<string>();
  for (const key of envs) {
    const checkpoints = (await store.load(key))?.fields.checkpoints ?? {};
    for (const [step, checkpoint] of Object.entries(checkpoints)) done.add(stepId(`pr-${key.pr}`, step, checkpoint.sha));
  }
  return done;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("crash recovery", () => {
  it(`finishes every environment across ${TRIALS} SIGKILLs at step boundaries and mid-step`, async () => {
    const params: WorkerParams = {
      store: { sqliteFile: join(ws.dir, "state.sqlite") },
      prefix: PREFIX,
      dir: ws.dir,
      config: CONFIG,
      options: { leaseTtlMs: 800, renewEveryMs: 200, claimHideMs: 800, busyRetryMs: 100, idlePollMs: 30, concurrency: 2, retry: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 200, jitter: 0.5 } },
      postgres: { adminUrl: pg.adminUrl, prefix: pg.prefix },
      secretKey: SECRET_KEY,
    };
    const envs: EnvKey[] = [1, 2, 3, 4, 5, 6].map((pr) => ({ repoId: REPO_ID, pr }));
    for (const key of envs) await store.recordIntent(key, openIntent(`${key.pr}`.padEnd(40, "0")), { keyTtlMs: 3_600_000 });

    const kills: Array<{ at: number; completed: Set<string> }> = [];
    let boundaryKills = 0;
    let midStepKills = 0;
    // Each replacement starts before the worker it replaces is killed, as a
    // restarted replica would: startup overlaps the old one's last moments.
    let current = spawnWorker(bundle, params);
    await current.started;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const next = spawnWorker(bundle, params);
      await next.started;
      // New work for either worker: a push (its onUpdate step), and once a close (a teardown to interrupt).
      const key = envs[trial % envs.length] as EnvKey;
      await store.recordIntent(key, pushIntent(`${key.pr}${trial}`.padEnd(40, "f")), { keyTtlMs: 3_600_000 });
      if (trial === TRIALS / 2) await store.recordIntent(envs[0] as EnvKey, closeIntent(), { keyTtlMs: 3_600_000 });
      // At a step boundary: right after the k-th new line (a step starting or ending).
      const target = ws.lines().length + 1 + (trial % 3);
      if (trial % 2 === 0) {
        boundaryKills += (await waitFor(async () => ws.lines().length >= target, "step lines", 1_500).catch(() => false)) ? 1 : 0;
      } else {
        await sleep(50 + Math.floor(Math.random() * 900));
      }
      await current.kill();
      midStepKills += killOrphanSteps(ws.lines(), [next]) > 0 ? 1 : 0;
      kills.push({ at: Date.now(), completed: await completedSteps(envs) });
      current = next;
    }

    for (const key of envs) await store.recordIntent(key, closeIntent(), { keyTtlMs: 3_600_000 });
    await waitFor(
      async () => (await Promise.all(envs.map((key) => store.load(key)))).every((snapshot) => snapshot?.fields.status === "deleted"),
      "every environment deleted",
      40_000,
    ).catch(async (error: unknown) => {
      const states = await Promise.all(envs.map(async (key) => `pr-${key.pr}: ${JSON.stringify((await store.load(key))?.events.slice(-3))}`));
      throw new Error(`${(error as Error).message}; last events ${states.join("; ")}`);
    });
    await current.stop();

    const lines = ws.lines();
    const rerunsOfCompleted = kills.flatMap(({ at, completed }) =>
      lines.filter((line: StepLine) => line.kind === "start" && line.phase === "setup" && line.at > at && completed.has(stepId(line.env, line.step, line.sha))),
    );
    const { rows: leftovers } = await pg.admin.query(
      "SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1) UNION ALL SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)",
      [pg.prefix],
    );
    console.log(
      `crash test: ${kills.length} SIGKILLs (${boundaryKills} right after a step started or ended, ${kills.length - boundaryKills} after random delays; ` +
        `${midStepKills} with a step of the killed worker running), ` +
        `${lines.filter((line) => line.kind === "start").length} step starts, ${rerunsOfCompleted.length} re-runs of completed steps, ${leftovers.length} databases or roles left`,
    );
    expect(kills.length).toBeGreaterThanOrEqual(20);
    expect(rerunsOfCompleted).toEqual([]);
    expect(leftovers).toEqual([]);
    for (const key of envs) {
      const undeploys = lines.filter((line) => line.env === `pr-${key.pr}` && line.step === "undeploy" && line.kind === "end");
      expect(undeploys.length, `pr-${key.pr} undeploy`).toBeGreaterThanOrEqual(1);
    }
    expect(await store.admissionCounts()).toEqual({ active: 0, queued: 0 });
  }, 120_000);
});
