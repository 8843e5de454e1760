import { formatDuration, formatRelative } from "../config/duration.js";
import type { Status } from "../lifecycle/environment.js";
import type { Verb } from "../lifecycle/intent.js";
import { COMMANDS_HELP } from "./commands/parse-command.js";
import { stickyMarker } from "./ensure-comment.js";
import { codeBlock, codeSpan, escapeProse, safeLink } from "./markdown.js";

/**
 * The sticky comment (DESIGN §5) and the replies, as pure functions of a
 * view. The same view gives the same bytes, so a caller that finds the
 * comment already says this can skip the edit. Everything that comes from
 * a PR, a repository or a step's output is escaped (see markdown.ts).
 */

export type StepState = "pending" | "running" | "done" | "failed" | "skipped";

export interface CommentView {
  pr: number;
  status: Status;
  /** Shown only when `status` is `ready`. */
  url?: string;
  headSha: string;
  /** ISO 8601 UTC; not shown once torn down, nor when not created. */
  expiresAt?: string;
  /**
   * ISO 8601 UTC, for the relative expiry. That is rounded to the hour while
   * an hour or more away and to the minute after, so re-rendering a little
   * later usually gives the same body and the edit can be skipped.
   */
  now: string;
  steps: ReadonlyArray<{ name: string; state: StepState }>;
  /** The step that failed and the tail of its output. */
  error?: { step: string; message: string };
  /** Place in the queue (1 is next) while `queued`. */
  queuePosition?: number;
  /**
   * Why there is no environment, in words for the PR (backticks mark code,
   * everything else is escaped), e.g. a policy gate's reason. With
   * `configErrors`, takes precedence over `status`.
   */
  notCreatedReason?: string;
  /**
   * Why an environment that exists is not updated to the head (a fork's
   * push nobody approved yet, a config that became invalid), in words for
   * the PR like `notCreatedReason`; shown under its status, which it keeps.
   */
  heldReason?: string;
  /** `.github/ephemera.yml` did not validate, as `resolveRepoSettings` says: nothing was provisioned. */
  configErrors?: readonly string[];
  /** In words for the PR, like `notCreatedReason`: "the PR was closed". */
  tornDownReason?: string;
}

const STATUS_HEADLINES: Record<Status, string> = {
  pending: "🕓 Preview environment: starting",
  queued: "⏳ Preview environment: queued",
  provisioning: "🔄 Preview environment: setting up",
  ready: "✅ Preview environment: ready",
  failed: "❌ Preview environment: setup failed",
  tearing_down: "🧹 Preview environment: being torn down",
  deleted: "🗑️ Preview environment: torn down",
};

const STEP_ICONS: Record<StepState, string> = { pending: "⚪", running: "🔄", done: "✅", failed: "❌", skipped: "⏭️" };

/**
 * GitHub refuses comment bodies over 65,536 characters, and then every
 * later update of the comment would fail too; the end of the output is
 * what explains a failure.
 */
const MAX_ERROR_CHARS = 4000;
/** An invalid file can have many problems; the first ones are enough to start fixing it. */
const MAX_CONFIG_ERRORS = 20;

const HOUR = 3_600_000;

/**
 * The sticky comment. Its first line is the marker, which is how
 * `ensureStickyComment` finds it: only the first line counts, so a marker in
 * a step's output further down forges nothing.
 */
export function renderComment(view: CommentView): string {
  const notCreated = view.notCreatedReason !== undefined || view.configErrors !== undefined;
  const live = !notCreated && view.status !== "deleted";
  const facts = [
    view.status === "ready" && view.url !== undefined ? `- **URL:** ${safeLink(view.url)}` : "",
    `- **Commit:** ${codeSpan(view.headSha.slice(0, 7))}`,
    live && view.expiresAt !== undefined ? expiryFact(view.expiresAt, view.now) : "",
    view.tornDownReason !== undefined ? `- **Reason:** ${escapeProse(view.tornDownReason)}` : "",
  ];
  return paragraphs([
    stickyMarker(view.pr),
    `### ${notCreated ? "⏸️ Preview environment: not created" : headline(view)}`,
    view.notCreatedReason === undefined ? "" : escapeProse(view.notCreatedReason),
    view.heldReason === undefined ? "" : `⏸️ ${escapeProse(view.heldReason)}`,
    view.configErrors === undefined ? "" : configErrorsText(view.configErrors),
    lines(facts),
    view.steps.length === 0 ? "" : stepsText(view.steps),
    view.error === undefined ? "" : errorText(view.error),
    `<details><summary>Commands</summary>\n\n${COMMANDS_HELP}\n\n</details>`,
  ]);
}

export interface ExpiryWarningView {
  /** ISO 8601 UTC. */
  expiresAt: string;
  /** ISO 8601 UTC. */
  now: string;
  /** What `/preview extend` without a duration adds. */
  ttlMs: number;
  maxTtlMs: number;
}

/** The reply posted `warnBefore` ahead of expiry. */
export function renderExpiryWarning({ expiresAt, now, ttlMs, maxTtlMs }: ExpiryWarningView): string {
  return paragraphs([
    `⏰ This PR's preview environment will be torn down at ${when(expiresAt, now)}.`,
    `To keep it, someone with write access can comment \`/preview extend\` (adds ${formatDuration(ttlMs)}) ` +
      `or \`/preview extend 4h\` with a duration of their choice, up to ${formatDuration(maxTtlMs)} from now.`,
  ]);
}

export type CommandReply =
  | { kind: "help" }
  /** Unknown command, bad duration, extra arguments: `parseCommand`'s reason. */
  | { kind: "invalid"; reason: string }
  | { kind: "no-permission"; verb: Verb }
  /** `/preview extend <d>` asked for more than the template's maxTtl; `expiresAt` is the environment's expiry, unchanged. */
  | { kind: "over-cap"; maxTtlMs: number; expiresAt: string; now: string };

/** The reply to a slash-command: the help, or why it was refused. */
export function renderCommandReply(reply: CommandReply): string {
  switch (reply.kind) {
    case "help":
      return paragraphs(["Commands for this PR's preview environment:", COMMANDS_HELP]);
    case "invalid":
      return paragraphs([`⚠️ ${escapeProse(reply.reason)}`, "Comment `/preview help` for the commands."]);
    case "no-permission":
      return `⚠️ ${codeSpan(`/preview ${reply.verb}`)} needs write access to this repository (write, maintain or admin).`;
    case "over-cap":
      return (
        `⚠️ The expiry cannot go past ${formatDuration(reply.maxTtlMs)} from now (this template's limit). ` +
        `The environment expires at ${when(reply.expiresAt, reply.now)}.`
      );
  }
}

function headline(view: CommentView): string {
  const queue = view.status === "queued" && view.queuePosition !== undefined ? ` (number ${view.queuePosition} in line)` : "";
  return STATUS_HEADLINES[view.status] + queue;
}

function stepsText(steps: CommentView["steps"]): string {
  // The label also keeps markdown from merging this list with the facts above.
  return lines(["**Setup**", ...steps.map(({ name, state }) => `- ${STEP_ICONS[state]} ${codeSpan(name)} ${state}`)]);
}

function configErrorsText(errors: readonly string[]): string {
  const shown = errors.slice(0, MAX_CONFIG_ERRORS).map((error) => `- ${escapeProse(error)}`);
  const more = errors.length > MAX_CONFIG_ERRORS ? [`- and ${errors.length - MAX_CONFIG_ERRORS} more`] : [];
  return lines(["`.github/ephemera.yml` is not valid, so nothing was provisioned:", ...shown, ...more]);
}

function errorText({ step, message }: { step: string; message: string }): string {
  // Cutting may split a surrogate pair; a lone half is not valid text for the API.
  const tail = message.length > MAX_ERROR_CHARS ? `…${message.slice(-MAX_ERROR_CHARS).replace(/^[\uDC00-\uDFFF]/, "")}` : message;
  return paragraphs([`**Step ${codeSpan(step)} failed.** The end of its output:`, codeBlock(tail)]);
}

function expiryFact(expiresAt: string, now: string): string {
  return `- **${Date.parse(expiresAt) > Date.parse(now) ? "Expires" : "Expired"}:** ${when(expiresAt, now)}`;
}

/** `2025-06-01 14:00 UTC (in 3h)`, coarse as `CommentView.now` describes. */
function when(at: string, now: string): string {
  const ms = Date.parse(at) - Date.parse(now);
  const coarse = Math.abs(ms) >= HOUR ? Math.round(ms / HOUR) * HOUR : ms;
  return `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC (${formatRelative(coarse)})`;
}

function paragraphs(parts: readonly string[]): string {
  return parts.filter((part) => part !== "").join("\n\n");
}

function lines(parts: readonly string[]): string {
  return parts.filter((part) => part !== "").join("\n");
}
