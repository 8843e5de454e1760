import type { DesiredState } from "./desired.js";
import { CLOSE_REASONS, type Intent } from "./intent.js";

/**
 * Folds an environment's inbox into its desired state. Every register is
 * last-writer-wins by GitHub's own timestamps, so the result does not depend
 * on the order or the number of deliveries:
 *
 * - `open` / `close`: a close at the same or a later time than the last open
 *   wins; an open at a later time than the close (a reopen) revives.
 * - the head: a push older than the current head is ignored; a push never
 *   changes `open`, so a synchronize after a close does not resurrect.
 * - each head sha keeps the stamp of its first delivery (the earliest
 *   `updated_at` that named it), whatever order the deliveries came in.
 * - `approve` (`/preview deploy`) moves the approval time forward (or names
 *   a sha), and revives an environment that was destroyed or expired (not
 *   one whose PR closed).
 *
 * `extend` and `redeploy` are operations, not registers: they take effect once,
 * because the commit that writes the folded state also removes them from the
 * inbox. `shown`, written by releases before the notifier kept a record of
 * its own (StateStore.recordShown), is read and dropped: the notifier finds
 * what it names on GitHub again.
 */

export interface FoldResult {
  /** Undefined while nothing has been heard that names the PR. */
  desired: DesiredState | undefined;
  /** One entry per `extend` folded; undefined means "by the template TTL". */
  extensions: Array<number | undefined>;
  /** Someone asked to see the current state again (`/preview status`). */
  refresh: boolean;
}

type PrFacts = Extract<Intent, { type: "open" | "push" }>;

const REVIVABLE_BY_DEPLOY: ReadonlySet<string> = new Set([CLOSE_REASONS.destroy, CLOSE_REASONS.operator, CLOSE_REASONS.expired]);

/** GitHub times compare as instants; an absent time is older than any other. */
function instant(at: string | undefined): number {
  const ms = at ? Date.parse(at) : Number.NaN;
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}

/** A desired state for a PR known only from a close or an approval: closed, facts unknown. */
function unknownPr(): DesiredState {
  return {
    open: false,
    openAt: "",
    repo: "",
    installationId: 0,
    headSha: "",
    headRef: "",
    headAt: "",
    fork: false,
    draft: false,
    labels: [],
    redeployGeneration: 0,
  };
}

/** Head stamps kept per environment: enough for any approval still in flight, bounded against a push storm. */
const MAX_HEAD_STAMPS = 20;

/** `sha` stamped by a delivery at `at`: the earliest stamp wins, and only the newest heads are kept. */
function stamped(stamps: Readonly<Record<string, string>> | undefined, sha: string, at: string): Record<string, string> {
  const known = stamps?.[sha];
  if (stamps !== undefined && known !== undefined && instant(known) <= instant(at)) return stamps;
  const entries = Object.entries({ ...stamps, [sha]: at });
  entries.sort(([, a], [, b]) => instant(b) - instant(a));
  return Object.fromEntries(entries.slice(0, MAX_HEAD_STAMPS));
}

function fromFacts(intent: PrFacts): DesiredState {
  // A push for a PR never heard of means the PR is open (synchronize fires only then).
  return { ...unknownPr(), open: true, openAt: intent.at };
}

function withFacts(desired: DesiredState, intent: PrFacts): DesiredState {
  let next: DesiredState = { ...desired, headStamps: stamped(desired.headStamps, intent.headSha, intent.at) };
  if (instant(intent.at) > instant(next.headAt)) {
    next = { ...next, headSha: intent.headSha, headRef: intent.headRef, headAt: intent.at };
  }
  if (instant(intent.at) >= instant(next.factsAt)) {
    const { repo, installationId, fork, draft, labels } = intent;
    next = { ...next, repo, installationId, fork, draft, labels: [...labels], factsAt: intent.at };
  }
  return next;
}

function reopened(desired: DesiredState, at: string): DesiredState {
  const { closeReason: _closed, ...rest } = desired;
  return { ...rest, open: true, openAt: at };
}

function foldOne(desired: DesiredState | undefined, intent: Intent): DesiredState | undefined {
  switch (intent.type) {
    case "open": {
      const base = desired ?? fromFacts(intent);
      const opened = instant(intent.at) > instant(base.openAt) ? reopened(base, intent.at) : base;
      return withFacts(opened, intent);
    }
    case "push":
      return withFacts(desired ?? fromFacts(intent), intent);
    case "close": {
      const base = desired ?? unknownPr();
      if (instant(intent.at) < instant(base.openAt)) return base;
      return { ...base, open: false, openAt: intent.at, closeReason: intent.reason };
    }
    case "approve": {
      const before = desired ?? unknownPr();
      const later = instant(intent.at) > instant(before.approvedAt);
      const base = intent.sha !== undefined ? { ...before, approvedSha: intent.sha } : later ? { ...before, approvedAt: intent.at } : before;
      const revivable =
        !base.open && base.headSha !== "" && REVIVABLE_BY_DEPLOY.has(base.closeReason ?? "") && instant(intent.at) > instant(base.openAt);
      return revivable ? reopened(base, intent.at) : base;
    }
    case "redeploy":
      return desired && { ...desired, redeployGeneration: desired.redeployGeneration + 1 };
    case "extend":
    case "refresh":
    // A command is carried out (and replaced by the intents it makes) before the fold; one left here did nothing.
    case "command":
    case "shown":
      return desired;
  }
}

export function foldIntents(current: DesiredState | undefined, inbox: readonly Intent[]): FoldResult {
  let desired = current;
  const extensions: Array<number | undefined> = [];
  let refresh = false;
  for (const intent of inbox) {
    desired = foldOne(desired, intent);
    if (intent.type === "extend") extensions.push(intent.byMs);
    if (intent.type === "refresh") refresh = true;
  }
  return { desired, extensions, refresh };
}

/**
 * An expiry folded in as a close at the expiry time (never moving the register
 * back), so only an open or a deploy after it revives the environment.
 */
export function closedByExpiry(desired: DesiredState, expiresAt: string): DesiredState {
  const at = instant(expiresAt) > instant(desired.openAt) ? expiresAt : desired.openAt;
  return { ...desired, open: false, openAt: at, closeReason: CLOSE_REASONS.expired };
}
