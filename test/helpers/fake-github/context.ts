import type { Authenticator, Caller } from "./auth.js";
import type { FakeDelivery, FakeRepo } from "./model.js";
import type { RateLimits } from "./rate-limit.js";
import type { Renderer } from "./render.js";
import { HttpError, notFound, type RouteRequest } from "./router.js";
import type { FakeState } from "./state.js";

/** What route handlers get besides the request. */
export interface FakeContext {
  state: FakeState;
  render: Renderer;
  auth: Authenticator;
  rateLimits: RateLimits;
  /** Re-sends a delivery after the 202 has gone out, as GitHub does, and lists the new attempt. */
  redeliver(delivery: FakeDelivery): void;
}

/**
 * The repository named by `{owner}/{repo}`, if the caller's installation can
 * see it (and, for a token made with `repository_ids`, if it is one of
 * them). GitHub answers 404, not 403, for a repository outside the token's
 * reach: a wrong installation id looks exactly like a missing repo.
 */
export function accessibleRepo(request: RouteRequest, context: FakeContext): FakeRepo {
  const repo = context.state.findRepo(request.params.owner ?? "", request.params.repo ?? "");
  if (!repo || !reaches(request.caller, repo)) throw notFound();
  return repo;
}

/** Whether an installation token reaches the repository: the same installation, and within its repository ids if it has any. */
export function reaches(caller: Caller, repo: FakeRepo): boolean {
  if (caller.kind !== "installation" || caller.installationId !== repo.installationId) return false;
  return caller.repositoryIds === undefined || caller.repositoryIds.includes(repo.id);
}

/** The pull request `{issue_number}`/`{pull_number}` of a repository; issues are pull requests here, the fake has no others. */
export function existingPull(repo: FakeRepo, number: string | undefined) {
  const pull = repo.pulls.get(Number(number));
  if (!pull) throw notFound();
  return pull;
}

export function insufficientAuth(request: RouteRequest, needs: "app" | "installation"): HttpError {
  if (request.caller.kind === "none") return new HttpError(401, "Requires authentication");
  return needs === "app"
    ? new HttpError(401, "A JSON web token could not be decoded")
    : new HttpError(403, "Resource not accessible by integration: this endpoint needs an installation token");
}
