import { envKeyOf, isInstalled, prFactsIntent, type PullRequestPayload } from "../pull-request-facts.js";
import type { HandlerContext, IntentRecorder } from "./handler-deps.js";

/**
 * opened, reopened, ready_for_review, converted_to_draft, labeled, unlabeled:
 * the PR as it is now. The reconciler decides from these facts and the
 * policy whether an environment should exist. A label change on a closed PR
 * says nothing about the environment and must not revive it.
 */
export function onPullRequestChanged(recorder: IntentRecorder) {
  return async (context: HandlerContext<PullRequestPayload>): Promise<void> => {
    if (context.payload.pull_request.state !== "open" || !isInstalled(context.payload)) return;
    const key = envKeyOf(context.payload);
    const outcome = await recorder.record(key, prFactsIntent("open", context.payload), context.id);
    context.log.debug({ ...key, outcome }, "pull request recorded");
  };
}
