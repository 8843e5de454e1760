import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { DEFAULT_ENGINE_OPTIONS } from "../../src/lifecycle/engine.js";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { pullRequestEvent, type PrScenario } from "../../test/helpers/pr-events.js";
import { waitFor } from "../../test/helpers/wait-for.js";
import { deliver } from "../../test/helpers/webhooks.js";
import type { BenchContext, ScenarioResult } from "../lib/context.js";
import { figure } from "../lib/figures.js";
import type { BenchPostgres } from "../lib/postgres.js";
import type { GitHub } from "../lib/services.js";
import { median, round } from "../lib/stats.js";
import type { LifecycleApp } from "./lifecycle-app.js";

/**
 * Scenario 4: time to ready of a `postgres` environment cloned from a
 * template database, end to end: from posting `pull_request.opened` to the
 * environment's `status` reading `ready` in the store (polled every 2 ms).
 * The floor: what the environment is at its core, `CREATE ROLE … LOGIN
 * PASSWORD …` and `CREATE DATABASE … OWNER … TEMPLATE …` through one `psql`
 * (its start-up included), from the same template. Rounds take turns
 * (Ephemera, floor, …); each Ephemera round's environment is closed and
 * torn down before the next round starts.
 */

const POLL_MS = 2;
const WAIT_MS = 60_000;

interface Breakdown {
  /** Webhook posted → the reconciler claims the environment (it polls the due index every `idlePollMs` when idle). */
  toClaimMs: number;
  /** Claim → the `provisioning` event (load, the repository's settings from GitHub, admission, lease, commit). */
  claimToProvisioningMs: number;
  /** `provisioning` → `step_started`. */
  toStepMs: number;
  /** `step_started` → `step_completed` of the database step (the provider's work). */
  stepMs: number;
  /** `step_completed` → `ready`. */
  toReadyMs: number;
  /** Webhook's HTTP answer. */
  webhookMs: number;
}

export async function postgresTimeToReady(ctx: BenchContext, github: GitHub, app: LifecycleApp): Promise<ScenarioResult> {
  const postgres = app.postgres;
  if (!postgres) {
    const skipped = "4 postgres time to ready: the lifecycle app was started without PostgreSQL";
    return { figures: [], details: { postgresReady: { skipped } }, skipped };
  }
  const rounds = ctx.options.postgres.rounds;
  const repo: Omit<PrScenario, "pr"> = { repoId: postgres.repoId, owner: "bench", name: "pgready", installationId: 72 };
  const repoName = `${repo.owner}/${repo.name}`;
  github.fake.addRepo({ id: repo.repoId, owner: repo.owner, name: repo.name, installationId: repo.installationId });
  github.fake.setFile(repoName, ".github/ephemera.yml", "template: pg\n");

  ctx.progress(`4: postgres environment from template ${postgres.templateDb}: ${rounds} rounds + 1 warm-up each, Ephemera and psql taking turns`);
  const ephemera: number[] = [];
  const floor: number[] = [];
  const breakdowns: Breakdown[] = [];
  for (let i = 0; i <= rounds; i++) {
    const pr = i + 1;
    const { ms, breakdown } = await ephemeraRound(github, app, postgres, { ...repo, pr });
    const floorMs = await floorRound(postgres, i);
    if (i === 0) continue;
    ephemera.push(ms);
    floor.push(floorMs);
    breakdowns.push(breakdown);
  }

  const goalMs = 1.5 * median(floor) + 50;
  return {
    figures: [
      figure({
        scenario: "4 postgres time to ready",
        figure: "webhook → ready (floor: psql CREATE ROLE + CREATE DATABASE … TEMPLATE)",
        unit: "ms",
        value: median(ephemera),
        floor: median(floor),
        goal: { text: `≤ 1.5× floor + 50 ms (${Math.round(goalMs)} ms)`, met: median(ephemera) <= goalMs },
        rounds: ephemera,
        floorRounds: floor,
        note: `median breakdown: ${JSON.stringify(medianBreakdown(breakdowns))}`,
      }),
    ],
    details: { postgresReady: { templateDb: postgres.templateDb, ephemeraMs: ephemera, floorMs: floor, breakdowns, medianBreakdown: medianBreakdown(breakdowns) } },
  };
}

async function ephemeraRound(github: GitHub, app: LifecycleApp, postgres: BenchPostgres, s: PrScenario): Promise<{ ms: number; breakdown: Breakdown }> {
  const key: EnvKey = { repoId: s.repoId, pr: s.pr };
  const name = postgres.providerName(s.pr);
  postgres.track(name);
  const sha = randomBytes(20).toString("hex");
  github.fake.setPull(`${s.owner}/${s.name}`, { number: s.pr, head: { sha, ref: "feature" } });
  const statusKey = app.keys.env(key, "status");
  const url = app.process.url("/api/github/webhooks");
  const secret = github.credentials.WEBHOOK_SECRET;

  const sent = performance.now();
  const sentAt = Date.now();
  const response = await deliver(url, "pull_request", pullRequestEvent(s, "opened", { sha, at: new Date() }), { secret });
  const webhookMs = performance.now() - sent;
  if (response.status !== 200) throw new Error(`the app answered opened with ${response.status}:\n${app.process.tail()}`);
  // The claim re-scores the environment to claim time + claimHideMs: that score dates the claim on the app's own clock.
  const dueKey = app.keys.repoDue(s.repoId);
  let claimedAt = Number.NaN;
  let status: string | null = null;
  while (status !== "ready") {
    const [[, rawStatus], [, score]] = (await app.redis.pipeline().get(statusKey).zscore(dueKey, `pr-${s.pr}`).exec()) as [[null, string | null], [null, string | null]];
    status = rawStatus;
    if (Number.isNaN(claimedAt) && score !== null && Number(score) > sentAt + DEFAULT_ENGINE_OPTIONS.claimHideMs / 2) {
      claimedAt = Number(score) - DEFAULT_ENGINE_OPTIONS.claimHideMs;
    }
    if (status === "failed") throw new Error(`the postgres environment failed:\n${app.process.tail()}`);
    if (performance.now() - sent > WAIT_MS) throw new Error(`the postgres environment was not ready within ${WAIT_MS / 1000} s (status ${status}):\n${app.process.tail()}`);
    if (status !== "ready") await new Promise((done) => setTimeout(done, POLL_MS));
  }
  const ms = performance.now() - sent;

  const events = (await app.store.load(key))?.events ?? [];
  const at = (event: string) => Date.parse(events.find((entry) => entry.event === event)?.at ?? "");
  const breakdown: Breakdown = {
    webhookMs: round(webhookMs),
    toClaimMs: claimedAt - sentAt,
    claimToProvisioningMs: at("provisioning") - claimedAt,
    toStepMs: at("step_started") - at("provisioning"),
    stepMs: at("step_completed") - at("step_started"),
    toReadyMs: at("ready") - at("step_completed"),
  };

  // Tear it down before the next round, so rounds do not overlap.
  await deliver(url, "pull_request", pullRequestEvent(s, "closed", { sha, at: new Date(Date.now() + 1000) }), { secret });
  await waitFor(async () => (await app.redis.get(statusKey)) === "deleted", () => app.process.tail(), WAIT_MS);
  return { ms: round(ms), breakdown };
}

/** `psql` creating a role with a password and a database owned by it from the template, then (untimed) dropping both. */
async function floorRound(postgres: BenchPostgres, n: number): Promise<number> {
  const name = postgres.floorName(n);
  postgres.track(name);
  const id = pg.escapeIdentifier(name);
  const password = randomBytes(24).toString("base64url");
  const args = [
    "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres",
    "-c", `CREATE ROLE ${id} LOGIN PASSWORD '${password}'`,
    "-c", `CREATE DATABASE ${id} OWNER ${id} TEMPLATE ${pg.escapeIdentifier(postgres.templateDb)}`,
  ];
  const started = performance.now();
  await new Promise<void>((resolve, reject) =>
    execFile("psql", args, { timeout: WAIT_MS }, (error, _stdout, stderr) => (error ? reject(new Error(`psql failed: ${stderr || error.message}`)) : resolve())),
  );
  const ms = performance.now() - started;
  await postgres.admin.query(`DROP DATABASE IF EXISTS ${id} WITH (FORCE)`);
  await postgres.admin.query(`DROP ROLE IF EXISTS ${id}`);
  return round(ms);
}

function medianBreakdown(breakdowns: Breakdown[]): Breakdown {
  const of = (pick: (b: Breakdown) => number) => round(median(breakdowns.map(pick).filter(Number.isFinite)));
  return {
    webhookMs: of((b) => b.webhookMs),
    toClaimMs: of((b) => b.toClaimMs),
    claimToProvisioningMs: of((b) => b.claimToProvisioningMs),
    toStepMs: of((b) => b.toStepMs),
    stepMs: of((b) => b.stepMs),
    toReadyMs: of((b) => b.toReadyMs),
  };
}
