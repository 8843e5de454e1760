import { envKeyOf, isInstalled, prFactsIntent, type PullRequestPayload } from "../pull-request-facts.js";
import type { HandlerContext, IntentRecorder } from "./handler-deps.js";

/** A push: renew the TTL and re-run the `onUpdate` steps for the new head. */
export function onPullRequestSynchronize(recorder: IntentRecorder) {
  return async (context: HandlerContext<PullRequestPayload>): Promise<void> => {
    if (!isInstalled(context.payload)) return;
    const key = envKeyOf(context.payload);
    const outcome = await recorder.record(key, prFactsIntent("push", context.payload), context.id);
    context.log.debug({ ...key, outcome }, "push recorded");
  };
}
