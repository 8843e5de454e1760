import { createHash } from "node:crypto";
import type { FakeGitHub } from "../helpers/fake-github.js";
import { prCommentEvent, pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import type { Deliverer } from "./deliverer.js";

/**
 * PR lives as GitHub would send them: GitHub's own state (the fake's pull
 * request, the command's comment) changes first, then the webhook goes out
 * with the true `updated_at`. GitHub stamps whole seconds, so a life's
 * events are more than a second apart, and only then may two of them arrive
 * swapped (GitHub does not promise order; the fold orders by the stamp).
 */
export interface LifePlan {
  scenario: PrScenario;
  /** Head shas, the opening one first. */
  shas: string[];
  /** Index in `shas` after whose push `/preview extend` is commented, or -1. */
  extendAfter: number;
  closes: boolean;
  /** ms after the chaos phase starts. */
  startAfterMs: number;
}

export interface LifeRecord {
  plan: LifePlan;
  openedAt?: number;
  finishedAt?: number;
}

export const COMMANDER = "maintainer";
const EVENT_GAP_MS = [1_100, 2_600] as const;

export function planLives(count: number, repos: readonly Omit<PrScenario, "pr">[], durationMs: number, random: () => number, openAtEndShare: number): LifePlan[] {
  return Array.from({ length: count }, (_, i) => {
    const repo = repos[i % repos.length]!;
    const scenario = { ...repo, pr: 1 + Math.floor(i / repos.length) };
    const pushes = Math.floor(random() * 4);
    const shas = Array.from({ length: 1 + pushes }, (_, n) => createHash("sha1").update(`${repo.repoId}/${scenario.pr}/${n}`).digest("hex"));
    return {
      scenario,
      shas,
      extendAfter: random() < 0.35 ? Math.floor(random() * shas.length) : -1,
      closes: random() >= openAtEndShare,
      startAfterMs: Math.floor((i / count) * durationMs + random() * 500),
    };
  });
}

interface PendingEvent {
  event: string;
  payload: object;
}

/** Lives one PR's life; resolves once its last event was answered (redeliveries may still be queued). */
export async function liveLife(record: LifeRecord, deps: { gh: FakeGitHub; deliverer: Deliverer; random: () => number; reorderShare: number }): Promise<void> {
  const { plan } = record;
  const { scenario } = plan;
  const repo = `${scenario.owner}/${scenario.name}`;
  const key = { repoId: scenario.repoId, pr: scenario.pr };
  let lastStamp = 0;
  /** A whole second after the previous event, and not before now. */
  const stamp = () => {
    lastStamp = Math.max(Math.ceil(Date.now() / 1000) * 1000, lastStamp + 1000);
    return new Date(lastStamp);
  };
  const steps: Array<() => PendingEvent> = [];
  plan.shas.forEach((sha, n) => {
    steps.push(() => {
      deps.gh.setPull(repo, { number: scenario.pr, state: "open", head: { sha, ref: `feature-${scenario.pr}` } });
      return { event: "pull_request", payload: pullRequestEvent(scenario, n === 0 ? "opened" : "synchronize", { sha, at: stamp(), ref: `feature-${scenario.pr}` }) };
    });
    if (n === plan.extendAfter) {
      steps.push(() => {
        const comment = deps.gh.addComment(repo, scenario.pr, { body: "/preview extend 2h", user: COMMANDER });
        return { event: "issue_comment", payload: prCommentEvent(scenario, comment.body, { login: COMMANDER, at: stamp(), id: comment.id }) };
      });
    }
  });
  const last = plan.shas.at(-1)!;
  if (plan.closes) {
    steps.push(() => {
      deps.gh.setPull(repo, { number: scenario.pr, state: "closed", head: { sha: last, ref: `feature-${scenario.pr}` } });
      return { event: "pull_request", payload: pullRequestEvent(scenario, "closed", { sha: last, at: stamp(), ref: `feature-${scenario.pr}` }) };
    });
  }

  let held: PendingEvent | undefined;
  for (const [i, step] of steps.entries()) {
    if (i > 0) await new Promise((done) => setTimeout(done, EVENT_GAP_MS[0] + deps.random() * (EVENT_GAP_MS[1] - EVENT_GAP_MS[0])));
    const event = step();
    if (i === 0) record.openedAt = Date.now();
    if (held) {
      await deps.deliverer.send(event.event, event.payload, key);
      await deps.deliverer.send(held.event, held.payload, key);
      held = undefined;
    } else if (i < steps.length - 1 && deps.random() < deps.reorderShare) {
      held = event;
    } else {
      await deps.deliverer.send(event.event, event.payload, key);
    }
  }
  record.finishedAt = Date.now();
}
