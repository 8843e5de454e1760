import type { Logger } from "pino";
import type { EnvKey } from "../../lifecycle/environment.js";
import { CLOSE_REASONS, type Intent } from "../../lifecycle/intent.js";
import type { DesiredState } from "../../lifecycle/desired.js";
import type { RepoTarget } from "../github-api.js";
import type { HasWriteAccess } from "../permissions.js";
import { react, reply } from "../replies.js";
import { renderCommandReply, type CommandReply } from "../render-comment.js";
import type { ParsedCommand } from "./parse-command.js";

/** What a command needs from the lifecycle: record an intent, and read what is known of the PR. */
export interface CommandLifecycle {
  record(key: EnvKey, intent: Intent, deliveryId?: string): Promise<"recorded" | "duplicate">;
  desired(key: EnvKey): Promise<{ desired: DesiredState | undefined; maxTtlMs: number | undefined; expiresAt: string | undefined } | null>;
  /** The fork policy in force for the repository (its file may only make it stricter). */
  forkPolicy(key: EnvKey, desired: DesiredState | undefined): Promise<"never" | "approve" | "always">;
}

export interface CommandRequest {
  key: EnvKey;
  target: RepoTarget;
  command: Exclude<ParsedCommand, { kind: "none" }>;
  commentId: number;
  author: string;
  /** The comment's `created_at`: when the command was given. */
  at: string;
  deliveryId: string;
  /** The PR as GitHub says it is now, for `/preview deploy` on a PR Ephemera has not heard of. */
  currentPullRequest: () => Promise<Extract<Intent, { type: "open" }>>;
}

export interface CommandDeps {
  lifecycle: CommandLifecycle;
  hasWriteAccess: HasWriteAccess;
  log: Logger;
}

/** Intents are recorded in order; the command's delivery id marks the last, which decides "duplicate". */
type Outcome = { intents: Intent[] } | { refusal: CommandReply } | { help: true };

/**
 * Runs one slash-command (DESIGN §6): checks permission where the verb needs
 * write access, records the intent, and answers with a reaction (`+1` done,
 * `confused` refused) and, for a refusal or help, one reply. A redelivered
 * command records nothing twice and answers nothing twice.
 */
export async function runCommand(request: CommandRequest, deps: CommandDeps): Promise<void> {
  const outcome = await decide(request, deps);
  if ("intents" in outcome) {
    let recorded: "recorded" | "duplicate" = "recorded";
    for (const [index, intent] of outcome.intents.entries()) {
      const last = index === outcome.intents.length - 1;
      recorded = await deps.lifecycle.record(request.key, intent, last ? request.deliveryId : `${request.deliveryId}:${index}`);
    }
    if (recorded === "duplicate") return;
    await react({ ...request.target, commentId: request.commentId, content: "+1" });
    return;
  }
  // Nothing is recorded for a reply, so the reaction is what makes it happen once: it goes first, and GitHub
  // says whether it was there already (a redelivered command). A reply that fails after the reaction (or a
  // process that dies between the two) is lost rather than posted twice; the reaction still tells the commenter.
  const reaction = await react({ ...request.target, commentId: request.commentId, content: "help" in outcome ? "+1" : "confused" });
  if (reaction === "existing") return;
  const body = renderCommandReply("help" in outcome ? { kind: "help" } : outcome.refusal);
  await reply({ ...request.target, issueNumber: request.key.pr, body });
  deps.log.info({ ...request.key, author: request.author, outcome: "help" in outcome ? "help" : outcome.refusal.kind }, "command answered");
}

async function decide(request: CommandRequest, deps: CommandDeps): Promise<Outcome> {
  const { command, key, at, author } = request;
  if (command.kind === "invalid") return { refusal: { kind: "invalid", reason: command.reason } };
  if (command.verb === "help") return { help: true };
  if (command.needsWrite && !(await deps.hasWriteAccess({ ...request.target, username: author, repoId: key.repoId }))) {
    return { refusal: { kind: "no-permission", verb: command.verb } };
  }
  switch (command.verb) {
    case "status":
      return { intents: [{ type: "refresh", at }] };
    case "redeploy":
      return { intents: [{ type: "redeploy", at, actor: author }] };
    case "destroy":
      return { intents: [{ type: "close", at, reason: CLOSE_REASONS.destroy }] };
    case "extend":
      return extendOutcome(request, deps);
    case "deploy":
      return deployOutcome(request, deps);
  }
}

async function extendOutcome({ key, at, author, command }: CommandRequest, deps: CommandDeps): Promise<Outcome> {
  const durationMs = command.kind === "command" ? command.durationMs : undefined;
  const known = await deps.lifecycle.desired(key);
  if (known?.maxTtlMs !== undefined && known.expiresAt !== undefined && durationMs !== undefined && durationMs > known.maxTtlMs) {
    // The reply says when the environment does expire: the refusal leaves that as it is.
    return { refusal: { kind: "over-cap", maxTtlMs: known.maxTtlMs, expiresAt: known.expiresAt, now: at } };
  }
  return { intents: [durationMs === undefined ? { type: "extend", at, actor: author } : { type: "extend", at, byMs: durationMs, actor: author }] };
}

/**
 * `/preview deploy` approves the head Ephemera last showed on the PR (the
 * sticky comment names it), so a push that lands while a maintainer types is
 * not approved unseen; only for a PR never heard of is GitHub asked.
 */
async function deployOutcome(request: CommandRequest, deps: CommandDeps): Promise<Outcome> {
  const known = await deps.lifecycle.desired(request.key);
  const facts = known?.desired?.headSha ? undefined : await request.currentPullRequest();
  const fork = facts?.fork ?? known?.desired?.fork ?? false;
  if (fork && (await deps.lifecycle.forkPolicy(request.key, known?.desired)) === "never") {
    return { refusal: { kind: "invalid", reason: "this repository never deploys pull requests from forks" } };
  }
  const sha = facts?.headSha ?? known?.desired?.headSha ?? "";
  const approve: Intent = { type: "approve", at: request.at, sha, actor: request.author };
  return { intents: facts ? [facts, approve] : [approve] };
}
