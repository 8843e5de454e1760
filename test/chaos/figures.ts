import type { Redis } from "ioredis";
import type { Keys } from "../../src/store/keys.js";
import type { StateStore } from "../../src/store/state-store.js";
import type { FakeGitHub } from "../helpers/fake-github.js";
import { wasAccepted, type Delivery } from "./deliverer.js";
import type { LifeRecord } from "./pr-lives.js";
import type { Incarnation } from "./replicas.js";
import type { StepLine } from "./step-log.js";

/**
 * The figures of a chaos run. Every one but the timings must be 0; the
 * at-least-once re-runs (a step killed with its app between its end and its
 * checkpoint) are allowed and counted apart.
 */
export interface ChaosFigures {
  /** Open PRs whose environment is not ready at their last push in the store. */
  environmentsLost: number;
  /** Open PRs GitHub does not show ready (no `success` deployment status for the last push). */
  openPrsNotShownReady: number;
  /** A completed step (same environment, same sha for `onUpdate`) run again though its app lived on. */
  stepsRerunAfterCheckpoint: number;
  /** Allowed: a completed step run again because its app was killed -9 before it could record the checkpoint. */
  stepsRerunKilledBeforeCheckpoint: number;
  /** A step started again while an earlier run of it was still running (a step outliving its app). */
  stepsRunTwiceAtOnce: number;
  /** Closed PRs whose environment is not deleted, or whose teardown step never completed. */
  teardownsMissed: number;
  /** A completed teardown run again (not the allowed case). */
  teardownsDoubled: number;
  /** Marker files (the steps' resource) left by closed PRs. */
  resourcesLeft: number;
  /** Sticky comments created beyond one per PR. */
  commentsCreatedTwice: number;
  /** Deployments beyond one per PR and sha. */
  deploymentsPerShaAboveOne: number;
  /** Closed PRs with a deployment whose latest status is not `inactive`. */
  deploymentsActiveAfterClose: number;
  /** Deliveries answered 2xx whose id the store does not hold (recorded nowhere). */
  deliveriesLost: number;
  /** After the Redis restart: app requests the fake answered 5xx, and app log lines of failed GitHub calls. */
  githubCallsFailingAfterRedisRestart: number;
  timeToReadyMs: { p50: number; p99: number; count: number };
}

export interface FigureInputs {
  lives: readonly LifeRecord[];
  gh: FakeGitHub;
  store: StateStore;
  redis: Redis;
  keys: Keys;
  steps: readonly StepLine[];
  markers: readonly string[];
  incarnations: readonly Incarnation[];
  deliveries: readonly Delivery[];
  redisRestartedAt: number | undefined;
  /** Steps that re-run on every push are told apart by sha. */
  onUpdateSteps: ReadonlySet<string>;
}

const envName = (repoId: number, pr: number) => `${repoId}/pr-${pr}`;
const repoOf = (life: LifeRecord) => `${life.plan.scenario.owner}/${life.plan.scenario.name}`;
/** How long after a step's end a kill -9 of its app may still have beaten the checkpoint's commit. */
const CHECKPOINT_WINDOW_MS = 5_000;

export async function computeFigures(inputs: FigureInputs): Promise<ChaosFigures> {
  const { lives, gh } = inputs;
  const closed = lives.filter((life) => life.plan.closes);
  const open = lives.filter((life) => !life.plan.closes);
  const reruns = classifyReruns(inputs);

  let environmentsLost = 0;
  let openPrsNotShownReady = 0;
  for (const life of open) {
    const { repoId, pr } = life.plan.scenario;
    const last = life.plan.shas.at(-1);
    const snapshot = await inputs.store.load({ repoId, pr });
    if (snapshot?.fields.status !== "ready" || snapshot.fields.checkpoints?.deploy?.sha !== last) environmentsLost += 1;
    const shown = gh.deploymentsOf(repoOf(life), `preview/pr-${pr}`).some((d) => d.sha === last && d.statuses.at(-1)?.state === "success");
    if (!shown) openPrsNotShownReady += 1;
  }

  let teardownsMissed = 0;
  for (const life of closed) {
    const { repoId, pr } = life.plan.scenario;
    const env = envName(repoId, pr);
    const snapshot = await inputs.store.load({ repoId, pr });
    const setUp = inputs.steps.some((line) => line.env === env && line.phase === "setup");
    const tornDown = inputs.steps.some((line) => line.env === env && line.phase === "teardown" && line.kind === "end");
    if ((snapshot !== null && snapshot.fields.status !== "deleted") || (setUp && !tornDown)) teardownsMissed += 1;
  }
  const closedEnvs = new Set(closed.map((life) => envName(life.plan.scenario.repoId, life.plan.scenario.pr)));

  let commentsCreatedTwice = 0;
  let deploymentsPerShaAboveOne = 0;
  let deploymentsActiveAfterClose = 0;
  for (const life of lives) {
    const { repoId, pr } = life.plan.scenario;
    const marker = `<!-- ephemera:env:pr-${pr} -->`;
    const sticky = gh.state.comments.filter((c) => c.repoId === repoId && c.issueNumber === pr && c.user.login === gh.bot.login && c.body.startsWith(marker));
    commentsCreatedTwice += Math.max(0, sticky.length - 1);
    const deployments = gh.deploymentsOf(repoOf(life), `preview/pr-${pr}`);
    const perSha = new Map<string, number>();
    for (const deployment of deployments) perSha.set(deployment.sha, (perSha.get(deployment.sha) ?? 0) + 1);
    for (const count of perSha.values()) deploymentsPerShaAboveOne += Math.max(0, count - 1);
    if (life.plan.closes && deployments.some((d) => d.statuses.at(-1)?.state !== "inactive")) deploymentsActiveAfterClose += 1;
  }

  let deliveriesLost = 0;
  for (const delivery of inputs.deliveries.filter(wasAccepted)) {
    const score = await inputs.redis.zscore(inputs.keys.env(delivery.key, "deliveries"), delivery.guid);
    if (score === null) deliveriesLost += 1;
  }

  return {
    environmentsLost,
    openPrsNotShownReady,
    ...reruns,
    teardownsMissed,
    resourcesLeft: inputs.markers.filter((env) => closedEnvs.has(env)).length,
    commentsCreatedTwice,
    deploymentsPerShaAboveOne,
    deploymentsActiveAfterClose,
    deliveriesLost,
    githubCallsFailingAfterRedisRestart: githubFailuresAfter(inputs),
    timeToReadyMs: timeToReady(inputs),
  };
}

interface StepRun {
  start: number;
  end?: number;
  app: number;
}

function classifyReruns(inputs: FigureInputs) {
  const runs = new Map<string, StepRun[]>();
  const byGroup = new Map<number, StepRun>();
  for (const line of inputs.steps) {
    if (line.kind === "end") {
      const run = byGroup.get(line.group);
      if (run) run.end = line.at;
      continue;
    }
    const id = `${line.env} ${line.phase} ${line.step}${line.phase === "setup" && inputs.onUpdateSteps.has(line.step) ? ` ${line.sha}` : ""}`;
    const run: StepRun = { start: line.at, app: line.app };
    byGroup.set(line.group, run);
    runs.set(id, [...(runs.get(id) ?? []), run]);
  }
  const killedAt = new Map(inputs.incarnations.map((incarnation) => [incarnation.pid, incarnation.killedAt]));
  const figures = { stepsRerunAfterCheckpoint: 0, stepsRerunKilledBeforeCheckpoint: 0, stepsRunTwiceAtOnce: 0, teardownsDoubled: 0 };
  for (const [id, list] of runs) {
    const teardown = id.split(" ")[1] === "teardown";
    list.forEach((run, i) => {
      const earlier = list.slice(0, i);
      if (earlier.some((e) => e.end !== undefined && e.end > run.start)) {
        figures.stepsRunTwiceAtOnce += 1;
        return;
      }
      const completed = earlier.filter((e) => e.end !== undefined);
      if (completed.length === 0) return;
      const allowed = completed.every((e) => {
        const killed = killedAt.get(e.app);
        return killed !== undefined && killed >= e.end! && killed <= run.start && killed - e.end! <= CHECKPOINT_WINDOW_MS;
      });
      if (allowed) figures.stepsRerunKilledBeforeCheckpoint += 1;
      else if (teardown) figures.teardownsDoubled += 1;
      else figures.stepsRerunAfterCheckpoint += 1;
    });
  }
  return figures;
}

/** 5xx answers the fake gave after the restart, plus app log lines after it that name a failed GitHub call. */
function githubFailuresAfter(inputs: FigureInputs): number {
  const since = inputs.redisRestartedAt;
  if (since === undefined) return 0;
  const answered5xx = inputs.gh.requests.filter((request) => request.receivedAtMs >= since && request.status >= 500).length;
  let logged = 0;
  for (const incarnation of inputs.incarnations) {
    for (const line of incarnation.output().split("\n")) {
      if (!/UNKNOWN_CLIENT|HttpError|api\/v3/.test(line)) continue;
      let entry: { time?: number; level?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if ((entry.time ?? 0) >= since && (entry.level ?? 0) >= 40) logged += 1;
    }
  }
  return answered5xx + logged;
}

/** From the PR's opening to GitHub's first `success` status for the PR (what its author sees), in ms. */
function timeToReady(inputs: FigureInputs): ChaosFigures["timeToReadyMs"] {
  const successAt = new Map<number, number>();
  for (const request of inputs.gh.requests) {
    const match = /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/.exec(request.path);
    if (request.method !== "POST" || !match || (request.body as { state?: string } | undefined)?.state !== "success") continue;
    const id = Number(match[1]);
    if (!successAt.has(id)) successAt.set(id, request.receivedAtMs);
  }
  const durations: number[] = [];
  for (const life of inputs.lives) {
    if (life.openedAt === undefined) continue;
    const { repoId, pr } = life.plan.scenario;
    const firsts = inputs.gh.state.deployments
      .filter((d) => d.repoId === repoId && d.environment === `preview/pr-${pr}`)
      .map((d) => successAt.get(d.id))
      .filter((at): at is number => at !== undefined);
    if (firsts.length > 0) durations.push(Math.min(...firsts) - life.openedAt);
  }
  durations.sort((a, b) => a - b);
  const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), count: durations.length };
}

/** The figures as the table the run prints (and the README shows). */
export function figuresTable(figures: ChaosFigures): string {
  const rows: Array<[string, string]> = [
    ["environments lost", String(figures.environmentsLost)],
    ["open PRs not shown ready on GitHub", String(figures.openPrsNotShownReady)],
    ["steps re-run after their checkpoint", String(figures.stepsRerunAfterCheckpoint)],
    ["steps run twice at once", String(figures.stepsRunTwiceAtOnce)],
    ["teardowns missed", String(figures.teardownsMissed)],
    ["teardowns doubled", String(figures.teardownsDoubled)],
    ["resources left", String(figures.resourcesLeft)],
    ["comments created twice", String(figures.commentsCreatedTwice)],
    ["deployments per sha above one", String(figures.deploymentsPerShaAboveOne)],
    ["deployments active after close", String(figures.deploymentsActiveAfterClose)],
    ["deliveries lost", String(figures.deliveriesLost)],
    ["GitHub calls failing after the Redis restart", String(figures.githubCallsFailingAfterRedisRestart)],
    ["(allowed) steps re-run, killed before their checkpoint", String(figures.stepsRerunKilledBeforeCheckpoint)],
    [`time to ready p50 / p99 (${figures.timeToReadyMs.count} PRs)`, `${(figures.timeToReadyMs.p50 / 1000).toFixed(1)} s / ${(figures.timeToReadyMs.p99 / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [`| ${"figure".padEnd(width)} | value |`, `| ${"-".repeat(width)} | ----- |`, ...rows.map(([name, value]) => `| ${name.padEnd(width)} | ${value} |`)].join("\n");
}

/** The figures that must be 0 (all but the allowed re-runs and the timings), by name. */
export function nonZeroFigures(figures: ChaosFigures): Record<string, number> {
  const { stepsRerunKilledBeforeCheckpoint: _allowed, timeToReadyMs: _timings, ...mustBeZero } = figures;
  return Object.fromEntries(Object.entries(mustBeZero).filter(([, value]) => value !== 0));
}
