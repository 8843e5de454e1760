import type { ApplicationFunction } from "probot";
import type { CommandDeps } from "./github/commands/run-command.js";
import type { IntentRecorder } from "./github/handlers/handler-deps.js";
import { onInstallationRemoved } from "./github/handlers/on-installation-removed.js";
import { onIssueCommentCreated } from "./github/handlers/on-issue-comment-created.js";
import { onPullRequestChanged } from "./github/handlers/on-pull-request-changed.js";
import { onPullRequestClosed } from "./github/handlers/on-pull-request-closed.js";
import { onPullRequestSynchronize } from "./github/handlers/on-pull-request-synchronize.js";

export interface AppDeps {
  recorder: IntentRecorder;
  commands: Omit<CommandDeps, "log">;
  /** Called with each handled event's name and how long it took, for /metrics. */
  observeWebhook?: (event: string, seconds: number) => void;
}

/**
 * The Probot app: which event goes to which handler. Handlers only record
 * intent; the reconciler does the work, so every delivery is answered well
 * inside GitHub's 10 seconds.
 */
export function ephemeraApp(deps: AppDeps): ApplicationFunction {
  return (app) => {
    const timed =
      <C>(handler: (context: C) => Promise<void>) =>
      async (context: C & { name: string; payload: object }): Promise<void> => {
        const started = performance.now();
        try {
          await handler(context);
        } finally {
          const action = "action" in context.payload ? String(context.payload.action) : undefined;
          deps.observeWebhook?.(action ? `${context.name}.${action}` : context.name, (performance.now() - started) / 1000);
        }
      };
    const changed = onPullRequestChanged(deps.recorder);
    app.on(
      [
        "pull_request.opened",
        "pull_request.reopened",
        "pull_request.ready_for_review",
        "pull_request.converted_to_draft",
        "pull_request.labeled",
        "pull_request.unlabeled",
      ],
      timed(changed),
    );
    app.on("pull_request.synchronize", timed(onPullRequestSynchronize(deps.recorder)));
    app.on("pull_request.closed", timed(onPullRequestClosed(deps.recorder)));
    app.on("issue_comment.created", timed(onIssueCommentCreated({ ...deps.commands, log: app.log })));
    const removed = onInstallationRemoved(deps.recorder);
    app.on(["installation.deleted", "installation_repositories.removed"], timed(removed));
  };
}
