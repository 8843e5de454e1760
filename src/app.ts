import type { ApplicationFunction } from "probot";
import type { IntentRecorder } from "./github/handlers/handler-deps.js";
import { onInstallationRemoved } from "./github/handlers/on-installation-removed.js";
import { onIssueCommentCreated } from "./github/handlers/on-issue-comment-created.js";
import { onPullRequestChanged } from "./github/handlers/on-pull-request-changed.js";
import { onPullRequestClosed } from "./github/handlers/on-pull-request-closed.js";
import { onPullRequestSynchronize } from "./github/handlers/on-pull-request-synchronize.js";
import type { WebhookIntake } from "./http/webhook-intake.js";

export interface AppDeps {
  recorder: IntentRecorder;
  /** Called with each handled event's name and how long it took, for /metrics. */
  observeWebhook?: (event: string, seconds: number) => void;
  /** Takes `pull_request` deliveries ahead of Probot (see http/webhook-intake.ts). */
  intake?: Pick<WebhookIntake, "route">;
}

/** The PR as it is now: policy decides from these facts whether an environment should exist. */
const CHANGED_ACTIONS = ["opened", "reopened", "ready_for_review", "converted_to_draft", "labeled", "unlabeled"] as const;

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
    // pull_request handlers only record an intent: the intake, when there is
    // one, takes these deliveries ahead of Probot and calls the same handlers
    // (http/webhook-intake.ts); Probot's registration stays for any it hands on.
    const changed = timed(onPullRequestChanged(deps.recorder));
    const synchronize = timed(onPullRequestSynchronize(deps.recorder));
    const closed = timed(onPullRequestClosed(deps.recorder));
    app.on(CHANGED_ACTIONS.map((action) => `pull_request.${action}` as const), changed);
    app.on("pull_request.synchronize", synchronize);
    app.on("pull_request.closed", closed);
    deps.intake?.route("pull_request", CHANGED_ACTIONS, changed);
    deps.intake?.route("pull_request", ["synchronize"], synchronize);
    deps.intake?.route("pull_request", ["closed"], closed);
    app.on("issue_comment.created", timed(onIssueCommentCreated(deps.recorder)));
    const removed = onInstallationRemoved(deps.recorder);
    app.on(["installation.deleted", "installation_repositories.removed"], timed(removed));
  };
}
