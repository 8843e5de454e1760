import type { FakeContext } from "../context.js";
import { pageReply } from "../paginate.js";
import { RateLimits } from "../rate-limit.js";
import { APP_PERMISSIONS } from "../render.js";
import { reaches } from "../context.js";
import { HttpError, idParam, invalidField, notFound, objectBody, route, type RouteRequest } from "../router.js";
import { iso } from "../state.js";

// The App's own endpoints (App JWT), the installation's view of itself, users and the rate limit.

function installation(request: RouteRequest, context: FakeContext) {
  const found = context.state.installations.get(idParam(request, "installation_id"));
  if (!found) throw notFound();
  return found;
}

export const appRoutes = [
  route("GET /app", "app", (_request, context) => ({ status: 200, body: context.render.app() })),

  route("GET /app/installations", "app", (request, context) =>
    pageReply(context.render.api, request, [...context.state.installations.values()].map((found) => context.render.installation(found))),
  ),

  route("GET /app/installations/{installation_id}", "app", (request, context) => ({
    status: 200,
    body: context.render.installation(installation(request, context)),
  })),

  // `repository_ids` narrows the token to those repositories, each of which must be the installation's (else 422, as on GitHub).
  route("POST /app/installations/{installation_id}/access_tokens", "app", (request, context) => {
    const found = installation(request, context);
    const ids = objectBody(request).repository_ids;
    if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id)))) throw invalidField("AccessToken", "repository_ids");
    const repositories = (ids as number[] | undefined)?.map((id) => context.state.repoById(id));
    if (repositories?.some((repo) => repo?.installationId !== found.id)) {
      throw new HttpError(422, "There is at least one repository that does not exist or is not accessible to the parent installation.");
    }
    const issued = context.auth.issue(found.id, ids as number[] | undefined);
    return {
      status: 201,
      body: {
        token: issued.token,
        expires_at: iso(issued.expiresAt),
        permissions: { ...APP_PERMISSIONS },
        repository_selection: "selected",
        ...(repositories && { repositories: repositories.map((repo) => context.render.repository(repo!)) }),
      },
    };
  }),

  // App JWT on GitHub; the repository must belong to one of the App's installations.
  route("GET /repos/{owner}/{repo}/installation", "app", (request, context) => {
    const repo = context.state.findRepo(request.params.owner!, request.params.repo!);
    const found = repo && context.state.installations.get(repo.installationId);
    if (!found) throw notFound();
    return { status: 200, body: context.render.installation(found) };
  }),

  route("GET /installation/repositories", "installation", (request, context) => {
    const repos = context.state.repos.filter((repo) => reaches(request.caller, repo)).map((repo) => context.render.repository(repo));
    return pageReply(context.render.api, request, repos, (page) => ({ total_count: repos.length, repository_selection: "selected", repositories: page }));
  }),

  // How an app learns its bot user's id (`GET /users/<slug>[bot]`); any user the fake has seen is known.
  route("GET /users/{username}", "any", (request, context) => {
    const actor = context.state.findActor(request.params.username!);
    if (!actor) throw notFound();
    return { status: 200, body: { ...context.render.user(actor), name: null, created_at: "2024-01-01T00:00:00Z", updated_at: "2024-01-01T00:00:00Z" } };
  }),

  // Does not count against the limit, as on GitHub.
  route("GET /rate_limit", "any", (request, context) => {
    const core = context.rateLimits.window(RateLimits.bucket(request.caller));
    return { status: 200, body: { resources: { core, search: { ...core, limit: 30, remaining: 30, used: 0 }, graphql: core }, rate: core } };
  }),
];
