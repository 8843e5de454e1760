import { parseCommand } from "../commands/parse-command.js";
import type { HandlerContext, IntentRecorder } from "./handler-deps.js";

interface IssueCommentPayload {
  repository: { id: number; full_name: string };
  installation?: { id: number } | undefined;
  issue: { number: number; pull_request?: unknown };
  comment: { id: number; body?: string | null; created_at: string; user: { login: string; id: number; type?: string | undefined } | null };
}

/**
 * A `/preview` command on a PR, recorded as given and nothing more: one
 * store round trip, no GitHub call, so the delivery is answered at once
 * whatever GitHub's latency. Who may give it, what it does and the answer
 * on the PR are settled by a worker (lifecycle/command-desk.ts). Comments
 * on issues, comments by bots (Ephemera's own replies among them),
 * comments that are not commands and deliveries without an installation
 * (nothing could answer them) are ignored without a call.
 */
export function onIssueCommentCreated(recorder: Pick<IntentRecorder, "record">) {
  return async (context: HandlerContext<IssueCommentPayload>): Promise<void> => {
    const { repository, issue, comment, installation } = context.payload;
    if (issue.pull_request === undefined || comment.user === null || comment.user.type === "Bot") return;
    if (installation === undefined || installation.id <= 0) return;
    const command = parseCommand(comment.body ?? "");
    if (command.kind === "none") return;
    await recorder.record(
      { repoId: repository.id, pr: issue.number },
      {
        type: "command",
        at: comment.created_at,
        commentId: comment.id,
        author: comment.user.login,
        authorId: comment.user.id,
        repo: repository.full_name,
        installationId: installation.id,
        command,
        deliveryId: context.id,
      },
      context.id,
    );
  };
}
