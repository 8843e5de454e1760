import { CLOSE_REASONS } from "../../lifecycle/intent.js";
import { envKeyOf, isInstalled, type PullRequestPayload } from "../pull-request-facts.js";
import type { HandlerContext, IntentRecorder } from "./handler-deps.js";

/** Closed or merged: tear down. Stamped with `closed_at`, so an older push arriving late cannot undo it. */
export function onPullRequestClosed(recorder: IntentRecorder) {
  return async (context: HandlerContext<PullRequestPayload>): Promise<void> => {
    if (!isInstalled(context.payload)) return;
    const pr = context.payload.pull_request;
    const key = envKeyOf(context.payload);
    const at = pr.closed_at ?? pr.updated_at;
    const outcome = await recorder.record(key, { type: "close", at, reason: CLOSE_REASONS.prClosed }, context.id);
    context.log.debug({ ...key, outcome }, "close recorded");
  };
}
