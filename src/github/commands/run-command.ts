import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import type { Policy } from "../../config/policy.js";
import type { CommandDesk, CommandScene } from "../../lifecycle/command-desk.js";
import { CLOSE_REASONS, type CommandIntent, type Intent } from "../../lifecycle/intent.js";
import { GitHubGoneError, httpStatus, type RepoTarget } from "../github-api.js";
import type { RepositoryScope } from "../installation-clients.js";
import type { HasWriteAccess } from "../permissions.js";
import { prFactsIntent } from "../pull-request-facts.js";
import { react, reply, type CommandReaction } from "../replies.js";
import { renderCommandReply, type CommandReply } from "../render-comment.js";
import { needsWrite } from "./parse-command.js";
import type { ReplyBudget } from "./reply-budget.js";

export interface CommandDeskDeps {
  /** A client whose token reaches the environment's repository (by id) alone. */
  octokitFor(scope: RepositoryScope): Promise<ProbotOctokit>;
  hasWriteAccess: HasWriteAccess;
  /** The fork policy in force for the environment (a repository's file may only make it stricter). */
  forkPolicy(scene: CommandScene): Promise<Policy["forks"]>;
  replyBudget: ReplyBudget;
  log: Logger;
}

/** What a command makes, and its answer on the PR: a reaction, and for a refusal or `help` one reply. */
interface Outcome {
  intents: Intent[];
  reaction: CommandReaction;
  reply?: CommandReply;
}

/** Slash-commands carried out on GitHub's side (DESIGN §6): who gave them, and the answer. */
export function gitHubCommandDesk(deps: CommandDeskDeps): CommandDesk {
  return {
    async carryOut(command, scene) {
      try {
        return await runCommand(command, scene, deps);
      } catch (error) {
        if (!answerable(error)) {
          // Trying again would fail the same way and hold up what follows it in the inbox (a close among them).
          deps.log.warn({ err: error, repoId: scene.key.repoId, pr: scene.key.pr, commentId: command.commentId }, "a command cannot be carried out (the PR, the repository or the installation is gone); it is dropped");
          return [];
        }
        throw error;
      }
    },
  };
}

/** Whether GitHub may answer a later attempt: not when the installation's token, the repository or the PR is gone. */
function answerable(error: unknown): boolean {
  if (error instanceof GitHubGoneError) return false;
  const status = httpStatus(error);
  return status === undefined || !GONE_STATUSES.has(status);
}

const GONE_STATUSES: ReadonlySet<number> = new Set([401, 404, 410, 422]);

/**
 * Checks the commenter's permission, decides, then answers: the reaction
 * first, and the reply only when GitHub says the reaction is new — so a
 * command carried out again (its worker died before the fold was
 * committed) is not answered twice. A reply to a commenter without write
 * access also needs the PR's reply budget. A reply lost to a crash after
 * the reaction stays lost: at most once.
 */
async function runCommand(command: CommandIntent, scene: CommandScene, deps: CommandDeskDeps): Promise<Intent[]> {
  const [owner = "", repo = ""] = command.repo.split("/");
  const target: RepoTarget = { octokit: await deps.octokitFor({ installationId: command.installationId, repoId: scene.key.repoId }), owner, repo };
  const writer = await deps.hasWriteAccess({ ...target, username: command.author, repoId: scene.key.repoId });
  const outcome = await decide(command, scene, writer, target, deps);
  const log = deps.log.child({ repoId: scene.key.repoId, pr: scene.key.pr, commentId: command.commentId, deliveryId: command.deliveryId });
  let reaction: "created" | "existing" | "failed";
  try {
    reaction = await react({ ...target, commentId: command.commentId, content: outcome.reaction });
  } catch (error) {
    // The command still takes effect; only the answer is lost.
    if (!(error instanceof GitHubGoneError)) log.warn({ err: error }, "could not react to a command");
    reaction = "failed";
  }
  if (outcome.reply !== undefined && reaction === "created" && (writer || (await deps.replyBudget(scene.key, command.commentId)))) {
    await reply({ ...target, issueNumber: scene.key.pr, body: renderCommandReply(outcome.reply) }).catch((error: unknown) => {
      log.warn({ err: error }, "could not reply to a command");
    });
  }
  log.info({ author: command.author, verb: command.command.kind === "command" ? command.command.verb : "invalid", reaction: outcome.reaction }, "command carried out");
  return outcome.intents;
}

async function decide(command: CommandIntent, scene: CommandScene, writer: boolean, target: RepoTarget, deps: CommandDeskDeps): Promise<Outcome> {
  const { at, author } = command;
  const parsed = command.command;
  if (parsed.kind === "invalid") return refusal({ kind: "invalid", reason: parsed.reason });
  if (parsed.verb === "help") return { intents: [], reaction: "+1", reply: { kind: "help" } };
  if (needsWrite(parsed.verb) && !writer) return refusal({ kind: "no-permission", verb: parsed.verb });
  switch (parsed.verb) {
    case "status":
      return done({ type: "refresh", at });
    case "redeploy":
      return done({ type: "redeploy", at, actor: author });
    case "destroy":
      return done({ type: "close", at, reason: CLOSE_REASONS.destroy });
    case "extend":
      return extendOutcome(command, scene, parsed.durationMs);
    case "deploy":
      return deployOutcome(command, scene, target, deps, parsed.sha);
  }
}

const done = (...intents: Intent[]): Outcome => ({ intents, reaction: "+1" });
const refusal = (reply: CommandReply): Outcome => ({ intents: [], reaction: "confused", reply });

function extendOutcome({ at, author }: CommandIntent, { fields }: CommandScene, durationMs: number | undefined): Outcome {
  const maxTtlMs = fields.config?.maxTtlMs;
  const expiresAt = fields.expires_at;
  if (maxTtlMs !== undefined && expiresAt !== undefined && durationMs !== undefined && durationMs > maxTtlMs) {
    // The reply says when the environment does expire: the refusal leaves that as it is.
    return refusal({ kind: "over-cap", maxTtlMs, expiresAt, now: at });
  }
  return done(durationMs === undefined ? { type: "extend", at, actor: author } : { type: "extend", at, byMs: durationMs, actor: author });
}

/**
 * `/preview deploy [sha]`: an approval stamped with the comment's time (or
 * naming a sha); which head it covers is judged by GitHub's stamps when it
 * is folded (see `headApproved`), so a push that came after the comment is
 * not approved however late the command is carried out. Only for a PR
 * never heard of is GitHub asked what it is.
 */
async function deployOutcome(command: CommandIntent, scene: CommandScene, target: RepoTarget, deps: CommandDeskDeps, sha: string | undefined): Promise<Outcome> {
  const facts = scene.desired?.headSha ? undefined : await currentPullRequest(command, scene, target);
  const fork = facts?.fork ?? scene.desired?.fork ?? false;
  if (fork && (await deps.forkPolicy(scene)) === "never") {
    return refusal({ kind: "invalid", reason: "this repository never deploys pull requests from forks" });
  }
  const approve: Intent = { type: "approve", at: command.at, actor: command.author, ...(sha !== undefined && { sha }) };
  return facts ? done(facts, approve) : done(approve);
}

async function currentPullRequest(command: CommandIntent, { key }: CommandScene, target: RepoTarget): Promise<Extract<Intent, { type: "open" }>> {
  const { data } = await target.octokit.rest.pulls.get({ owner: target.owner, repo: target.repo, pull_number: key.pr });
  return prFactsIntent("open", { repository: { id: key.repoId, full_name: command.repo }, installation: { id: command.installationId }, pull_request: data });
}
