import { CLOSE_REASONS } from "../../lifecycle/intent.js";
import type { HandlerContext, IntentRecorder } from "./handler-deps.js";

interface RemovedRepositories {
  repositories?: Array<{ id: number }> | undefined;
  repositories_removed?: Array<{ id: number }> | undefined;
}

/**
 * installation.deleted and installation_repositories.removed: the app lost
 * access, so every environment of those repositories is torn down.
 */
export function onInstallationRemoved(recorder: IntentRecorder, now: () => Date = () => new Date()) {
  return async (context: HandlerContext<RemovedRepositories>): Promise<void> => {
    const repositories = context.payload.repositories_removed ?? context.payload.repositories ?? [];
    const at = now().toISOString();
    for (const { id } of repositories) {
      for (const key of await recorder.listKeys(id)) {
        await recorder.record(key, { type: "close", at, reason: CLOSE_REASONS.uninstalled }, context.id);
      }
    }
    context.log.info({ repositories: repositories.map(({ id }) => id) }, "access removed: environments will be torn down");
  };
}
