import type { ProbotOctokit } from "probot";
import { parseCommand } from "../commands/parse-command.js";
import { runCommand, type CommandDeps } from "../commands/run-command.js";
import { prFactsIntent } from "../pull-request-facts.js";
import type { HandlerContext } from "./handler-deps.js";

interface IssueCommentPayload {
  repository: { id: number; name: string; full_name: string; owner: { login: string } };
  installation?: { id: number } | undefined;
  issue: { number: number; pull_request?: unknown };
  comment: { id: number; body?: string | null; created_at: string; user: { login: string; type?: string | undefined } | null };
}

/**
 * A `/preview` command on a PR. Comments on issues, comments by bots
 * (Ephemera's own replies among them) and comments that are not commands
 * are ignored without a call.
 */
export function onIssueCommentCreated(deps: CommandDeps) {
  return async (context: HandlerContext<IssueCommentPayload> & { octokit: ProbotOctokit }): Promise<void> => {
    const { repository, issue, comment } = context.payload;
    if (issue.pull_request === undefined || comment.user === null || comment.user.type === "Bot") return;
    const command = parseCommand(comment.body ?? "");
    if (command.kind === "none") return;
    const target = { octokit: context.octokit, owner: repository.owner.login, repo: repository.name };
    const key = { repoId: repository.id, pr: issue.number };
    await runCommand(
      {
        key,
        target,
        command,
        commentId: comment.id,
        author: comment.user.login,
        at: comment.created_at,
        deliveryId: context.id,
        currentPullRequest: async () => {
          const { data } = await context.octokit.rest.pulls.get({ ...target, pull_number: issue.number });
          return prFactsIntent("open", { repository, installation: context.payload.installation, pull_request: data });
        },
      },
      { ...deps, log: context.log },
    );
  };
}
