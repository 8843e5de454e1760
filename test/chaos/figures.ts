import type { Redis } from "ioredis";
import type { Keys } from "../../src/store/keys.js";
import type { StateStore } from "../../src/lifecycle/state-store.js";
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
  /** A completed step (same environment, same sha for `onUpdate`) run again though its app and Redis lived on. */
  stepsRerunAfterCheckpoint: number;
  /** Allowed: a completed step run again because its app was killed -9, or Redis was down, before its checkpoint was recorded. */
  stepsRerunKilledBeforeCheckpoint: number;
  /** A step that went on running after its app was killed -9 (unwatched: nothing records its end). */
  stepsOutlivingTheirApp: number;
  /** A step started again while an earlier run of it was still running. */
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
  /** After the Redis restart: app requests the fake answered 5xx, and GitHub calls the app logged as failed. */
  githubCallsFailingAfterRedisRestart: number;
  timeToReadyMs: { p50: number; p99: number; count: number };
}

type CountedFigure = Exclude<keyof ChaosFigures, "timeToReadyMs">;

export interface FigureReport {
  figures: ChaosFigures;
  /** For each non-zero figure, what made it so (environments `<repoId>/pr-<n>`, delivery ids, log lines). */
  offenders: Partial<Record<CountedFigure, string[]>>;
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
  /** When Redis was killed and when it was started again (ms), if it was. */
  redisOutage: { killedAt: number; restartedAt: number } | undefined;
  /** Steps that re-run on every push are told apart by sha. */
  onUpdateSteps: ReadonlySet<string>;
}

const envName = (repoId: number, pr: number) => `${repoId}/pr-${pr}`;
const repoOf = (life: LifeRecord) => `${life.plan.scenario.owner}/${life.plan.scenario.name}`;
/** How long after a step's end a kill -9 (of its app or of Redis) may still have beaten the checkpoint's commit. */
const CHECKPOINT_WINDOW_MS = 5_000;

class Tally {
  readonly counts = {} as Record<CountedFigure, number>;
  private readonly reasons = new Map<CountedFigure, Map<string, number>>();
  constructor(names: readonly CountedFigure[]) {
    for (const name of names) this.counts[name] = 0;
  }
  add(name: CountedFigure, what: string, n = 1): void {
    if (n <= 0) return;
    this.counts[name] = (this.counts[name] ?? 0) + n;
    const reasons = this.reasons.get(name) ?? new Map<string, number>();
    reasons.set(what, (reasons.get(what) ?? 0) + n);
    this.reasons.set(name, reasons);
  }
  /** Each reason once, with how often it counted when more than once. */
  offenders(): FigureReport["offenders"] {
    return Object.fromEntries([...this.reasons].map(([name, reasons]) => [name, [...reasons].map(([what, n]) => (n === 1 ? what : `${what} ×${n}`))]));
  }
}

/** How long after its app's kill -9 a step may still log its end: the watchdog's reaction, bounded by the 2 s the sandbox tests hold it to. */
const WATCHDOG_REACTION_MS = 2_000;

const COUNTED: readonly CountedFigure[] = [
  "environmentsLost",
  "openPrsNotShownReady",
  "stepsRerunAfterCheckpoint",
  "stepsRerunKilledBeforeCheckpoint",
  "stepsOutlivingTheirApp",
  "stepsRunTwiceAtOnce",
  "teardownsMissed",
  "teardownsDoubled",
  "resourcesLeft",
  "commentsCreatedTwice",
  "deploymentsPerShaAboveOne",
  "deploymentsActiveAfterClose",
  "deliveriesLost",
  "githubCallsFailingAfterRedisRestart",
];

export async function computeFigures(inputs: FigureInputs): Promise<FigureReport> {
  const { lives, gh } = inputs;
  const tally = new Tally(COUNTED);
  tallySteps(inputs, tally);

  for (const life of lives) {
    const { repoId, pr } = life.plan.scenario;
    const env = envName(repoId, pr);
    const snapshot = await inputs.store.load({ repoId, pr });
    const deployments = gh.deploymentsOf(repoOf(life), `preview/pr-${pr}`);
    if (life.plan.closes) {
      const setUp = inputs.steps.some((line) => line.env === env && line.phase === "setup");
      const tornDown = inputs.steps.some((line) => line.env === env && line.phase === "teardown" && line.kind === "end");
      if (snapshot !== null && snapshot.fields.status !== "deleted") tally.add("teardownsMissed", `${env} is ${snapshot.fields.status ?? "without status"}`);
      else if (setUp && !tornDown) tally.add("teardownsMissed", `${env}: no teardown step completed`);
      if (inputs.markers.includes(env)) tally.add("resourcesLeft", env);
      if (deployments.some((d) => d.statuses.at(-1)?.state !== "inactive")) tally.add("deploymentsActiveAfterClose", env);
    } else {
      const last = life.plan.shas.at(-1);
      if (snapshot?.fields.status !== "ready" || snapshot.fields.checkpoints?.deploy?.sha !== last) {
        tally.add("environmentsLost", `${env} is ${snapshot?.fields.status ?? "absent"}: ${await whereItStands(inputs, { repoId, pr }, last)}`);
      }
      if (!deployments.some((d) => d.sha === last && d.statuses.at(-1)?.state === "success")) tally.add("openPrsNotShownReady", env);
    }
    const marker = `<!-- ephemera:env:pr-${pr} -->`;
    const sticky = gh.state.comments.filter((c) => c.repoId === repoId && c.issueNumber === pr && c.user.login === gh.bot.login && c.body.startsWith(marker));
    tally.add("commentsCreatedTwice", env, sticky.length - 1);
    const perSha = new Map<string, number>();
    for (const deployment of deployments) perSha.set(deployment.sha, (perSha.get(deployment.sha) ?? 0) + 1);
    for (const [sha, count] of perSha) tally.add("deploymentsPerShaAboveOne", `${env} ${sha.slice(0, 7)}`, count - 1);
  }

  for (const delivery of inputs.deliveries.filter(wasAccepted)) {
    const score = await inputs.redis.zscore(inputs.keys.env(delivery.key, "deliveries"), delivery.guid);
    const action = (delivery.payload as { action?: string }).action;
    if (score === null) tally.add("deliveriesLost", `${envName(delivery.key.repoId, delivery.key.pr)} ${delivery.event}.${action} ${delivery.guid} answered ${delivery.answers.join(",")}`);
  }
  tallyGitHubFailures(inputs, tally);

  return { figures: { ...tally.counts, timeToReadyMs: timeToReady(inputs) }, offenders: tally.offenders() };
}

interface StepRun {
  env: string;
  start: number;
  end?: number;
  app: number;
}

type StepInputs = Pick<FigureInputs, "steps" | "incarnations" | "redisOutage" | "onUpdateSteps">;

/** The step rows alone (re-runs, overlaps, steps outliving their app), for a test of the classification. */
export function stepFigures(inputs: StepInputs): { counts: Partial<Record<CountedFigure, number>>; offenders: FigureReport["offenders"] } {
  const tally = new Tally([]);
  tallySteps(inputs, tally);
  return { counts: tally.counts, offenders: tally.offenders() };
}

/** Re-runs, overlaps and steps that outlived their app, from the step log and when each app was killed. */
function tallySteps(inputs: StepInputs, tally: Tally): void {
  const runs = new Map<string, StepRun[]>();
  const byGroup = new Map<number, StepRun>();
  for (const line of inputs.steps) {
    if (line.kind === "end") {
      const run = byGroup.get(line.group);
      if (run) run.end = line.at;
      continue;
    }
    const id = `${line.env} ${line.phase} ${line.step}${line.phase === "setup" && inputs.onUpdateSteps.has(line.step) ? ` ${line.sha.slice(0, 7)}` : ""}`;
    const run: StepRun = { env: line.env, start: line.at, app: line.app };
    byGroup.set(line.group, run);
    runs.set(id, [...(runs.get(id) ?? []), run]);
  }
  const killedAt = new Map(inputs.incarnations.map((incarnation) => [incarnation.pid, incarnation.killedAt]));
  const outage = inputs.redisOutage;
  // The watchdog kills a step once it sees its app's pipe close: an end logged within that reaction (the
  // guarantee tested elsewhere is "gone within 2 s") is a step killed with its app, not one that outlived it.
  const outlived = (run: StepRun) => {
    const killed = killedAt.get(run.app);
    return killed !== undefined && run.end !== undefined && run.end > killed + WATCHDOG_REACTION_MS;
  };
  /** The app died, or Redis was down, between the step's end and the moment its checkpoint would have been recorded. */
  const checkpointLost = (run: StepRun, rerun: StepRun) => {
    const end = run.end!;
    const killed = killedAt.get(run.app);
    const appKilled = killed !== undefined && killed >= end && killed <= Math.min(rerun.start, end + CHECKPOINT_WINDOW_MS);
    const redisDown = outage !== undefined && outage.killedAt <= end + CHECKPOINT_WINDOW_MS && outage.restartedAt >= end;
    return appKilled || redisDown;
  };
  for (const [id, list] of runs) {
    const teardown = id.split(" ")[1] === "teardown";
    list.forEach((run, i) => {
      if (outlived(run)) tally.add("stepsOutlivingTheirApp", id);
      const earlier = list.slice(0, i);
      if (earlier.some((e) => e.end !== undefined && e.end > run.start)) return tally.add("stepsRunTwiceAtOnce", id);
      const completed = earlier.filter((e) => e.end !== undefined);
      if (completed.length === 0) return;
      // A re-run after a step that outlived its app is that step's doing, counted above.
      if (completed.every((e) => outlived(e) || checkpointLost(e, run))) return tally.add("stepsRerunKilledBeforeCheckpoint", id);
      tally.add(teardown ? "teardownsDoubled" : "stepsRerunAfterCheckpoint", id);
    });
  }
}

/**
 * After the restart: 5xx answers from the fake, and GitHub calls that failed
 * inside the app — Probot's request logger (`octokit`) logs each at error
 * level, and a call Bottleneck refuses before it leaves the process (`ERR
 * UNKNOWN_CLIENT`, never seen by the fake) is logged by whoever made it.
 */
function tallyGitHubFailures(inputs: FigureInputs, tally: Tally): void {
  const since = inputs.redisOutage?.restartedAt;
  if (since === undefined) return;
  for (const request of inputs.gh.requests) {
    if (request.receivedAtMs >= since && request.status >= 500) tally.add("githubCallsFailingAfterRedisRestart", `${request.status} ${request.method} ${request.path}`);
  }
  for (const incarnation of inputs.incarnations) {
    for (const line of incarnation.output().split("\n")) {
      if (!line.includes("octokit") && !line.includes("UNKNOWN_CLIENT")) continue;
      let entry: { time?: number; level?: number; name?: string; msg?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      // The last of the logger's repeated `name` keys wins: the innermost child.
      const failedCall = (entry.name === "octokit" && (entry.level ?? 0) >= 50) || /UNKNOWN_CLIENT/.test(entry.err?.message ?? "");
      if (failedCall && (entry.time ?? 0) >= since) tally.add("githubCallsFailingAfterRedisRestart", `${incarnation.replica} pid ${incarnation.pid}: ${entry.msg ?? ""} (${entry.err?.message ?? ""})`);
    }
  }
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
    ["steps outliving their app", String(figures.stepsOutlivingTheirApp)],
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

/**
 * What the store holds for an environment that did not converge, so a red
 * run says where it stuck: its inbox, when it is due (in its repository and
 * in the global index) and who holds its lease.
 */
async function whereItStands(inputs: FigureInputs, key: { repoId: number; pr: number }, wantedSha: string | undefined): Promise<string> {
  const { redis, keys, store } = inputs;
  const snapshot = await store.load(key);
  const member = `pr-${key.pr}`;
  const [repoDue, globalDue, lease, leaseTtl] = await Promise.all([
    redis.zscore(keys.repoDue(key.repoId), member),
    redis.zscore(keys.globalDue(), String(key.repoId)),
    redis.get(keys.env(key, "lease")),
    redis.pttl(keys.env(key, "lease")),
  ]);
  const at = (score: string | null) => (score === null ? "none" : `${((Number(score) - Date.now()) / 1000).toFixed(1)} s from now`);
  return JSON.stringify({
    wanted: wantedSha?.slice(0, 7),
    head: snapshot?.fields.desired?.headSha.slice(0, 7),
    deployed: snapshot?.fields.checkpoints?.deploy?.sha.slice(0, 7),
    inbox: snapshot?.inbox.map((intent) => intent.type),
    dueInRepository: at(repoDue),
    dueInGlobalIndex: at(globalDue),
    lease: lease === null ? "none" : `${lease} for ${leaseTtl} ms`,
  });
}
