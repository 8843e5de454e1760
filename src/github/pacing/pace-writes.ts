import type { ProbotOctokit } from "probot";
import type { WritePacer } from "./write-pacer.js";

/** The methods GitHub counts as writes for its secondary rate limits. */
const WRITE_METHODS = new Set(["POST", "PATCH", "PUT", "DELETE"]);

/**
 * An Octokit plugin that waits for the pacer before each write of an
 * installation's client (`probot.auth(id)`, `context.octokit`, the
 * repository-scoped clients): install it with `ProbotOctokit.plugin(...)` as
 * Probot's `Octokit`. Clients without an installation (the App's own, JWT)
 * are not paced: their few writes (redelivery requests) are the App's, not
 * an installation's. Registered after Probot's throttling, it runs before
 * it: a write waits for its turn across replicas before it queues behind
 * this process's own writes.
 */
export function paceWrites(pacer: WritePacer) {
  return (octokit: Pick<ProbotOctokit, "hook">, options: { auth?: unknown }): void => {
    const installationId = installationIdOf(options.auth);
    if (installationId === undefined) return;
    octokit.hook.before("request", async (request) => {
      if (WRITE_METHODS.has(request.method.toUpperCase())) await pacer.beforeWrite(installationId);
    });
  };
}

function installationIdOf(auth: unknown): number | undefined {
  if (typeof auth !== "object" || auth === null || !("installationId" in auth)) return undefined;
  const id = Number(auth.installationId);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
