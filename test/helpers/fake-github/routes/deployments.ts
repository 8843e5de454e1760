import { accessibleRepo, type FakeContext } from "../context.js";
import { DEPLOYMENT_STATES, type DeploymentState, type FakeDeployment, type FakeDeploymentStatus, type FakeRepo } from "../model.js";
import { pageReply } from "../paginate.js";
import { booleanField, HttpError, idParam, invalidField, notFound, objectBody, requiredString, route, stringField, type RouteRequest } from "../router.js";

// Deployments and their statuses. Every body field is kept on the record
// (`request`), so tests can check what Ephemera sent even where the fake
// gives it no meaning.

/** The sha a deployment of `ref` points at, or GitHub's 422 for a ref it cannot resolve. */
function resolveRef(repo: FakeRepo, ref: string): string {
  if (ref === repo.defaultBranch) return repo.defaultBranchSha;
  const pulls = [...repo.pulls.values()];
  const byBranch = pulls.find((pull) => pull.head.ref === ref);
  if (byBranch) return byBranch.head.sha;
  if (/^[0-9a-f]{7,40}$/i.test(ref)) return pulls.find((pull) => pull.head.sha.startsWith(ref.toLowerCase()))?.head.sha ?? ref;
  throw new HttpError(422, `No ref found for: ${ref}`);
}

function deploymentOf(request: RouteRequest, context: FakeContext): { repo: FakeRepo; deployment: FakeDeployment } {
  const repo = accessibleRepo(request, context);
  const id = idParam(request, "deployment_id");
  const deployment = context.state.deployments.find((candidate) => candidate.id === id && candidate.repoId === repo.id);
  if (!deployment) throw notFound();
  return { repo, deployment };
}

function requiredContexts(body: Record<string, unknown>): string[] | undefined {
  const value = body.required_contexts;
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) throw invalidField("Deployment", "required_contexts");
  return value;
}

/**
 * GitHub's `auto_inactive` (default true): a `success` status marks the
 * earlier successful deployments of the same environment `inactive`, but only
 * non-transient, non-production ones, so Ephemera's transient previews are
 * never deactivated for it.
 */
function deactivatePrevious(context: FakeContext, current: FakeDeployment, creator: FakeDeploymentStatus["creator"]): void {
  for (const other of context.state.deployments) {
    if (other === current || other.repoId !== current.repoId || other.environment !== current.environment) continue;
    if (other.transient_environment || other.production_environment || other.statuses.at(-1)?.state !== "success") continue;
    const now = context.state.timestamp();
    other.statuses.push({ id: context.state.nextId(), state: "inactive", description: "", environment: other.environment, target_url: "", log_url: "", environment_url: "", creator, created_at: now, updated_at: now, automatic: true });
  }
}

export const deploymentRoutes = [
  route("POST /repos/{owner}/{repo}/deployments", "installation", (request, context) => {
    const repo = accessibleRepo(request, context);
    const body = objectBody(request);
    const ref = requiredString(body, "Deployment", "ref");
    const environment = stringField(body, "Deployment", "environment") ?? "production";
    const now = context.state.timestamp();
    const deployment: FakeDeployment = {
      id: context.state.nextId(),
      repoId: repo.id,
      sha: resolveRef(repo, ref),
      ref,
      task: stringField(body, "Deployment", "task") ?? "deploy",
      payload: body.payload ?? {},
      environment,
      original_environment: environment,
      description: stringField(body, "Deployment", "description") ?? "",
      transient_environment: booleanField(body, "Deployment", "transient_environment", false),
      production_environment: booleanField(body, "Deployment", "production_environment", environment === "production"),
      auto_merge: booleanField(body, "Deployment", "auto_merge", true),
      required_contexts: requiredContexts(body),
      creator: context.state.bot,
      created_at: now,
      updated_at: now,
      statuses: [],
      request: structuredClone(body),
    };
    context.state.deployments.push(deployment);
    return { status: 201, body: context.render.deployment(repo, deployment) };
  }),

  route("GET /repos/{owner}/{repo}/deployments", "installation", (request, context) => {
    const repo = accessibleRepo(request, context);
    const { sha, ref, task, environment } = request.query;
    const found = context.state.deployments
      .filter((deployment) => deployment.repoId === repo.id)
      .filter((deployment) => (sha === undefined || deployment.sha === sha) && (ref === undefined || deployment.ref === ref))
      .filter((deployment) => (task === undefined || deployment.task === task) && (environment === undefined || deployment.environment === environment))
      .reverse();
    return pageReply(context.render.api, request, found.map((deployment) => context.render.deployment(repo, deployment)));
  }),

  route("GET /repos/{owner}/{repo}/deployments/{deployment_id}", "installation", (request, context) => {
    const { repo, deployment } = deploymentOf(request, context);
    return { status: 200, body: context.render.deployment(repo, deployment) };
  }),

  route("POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "installation", (request, context) => {
    const { repo, deployment } = deploymentOf(request, context);
    const body = objectBody(request);
    const state = requiredString(body, "DeploymentStatus", "state");
    if (!(DEPLOYMENT_STATES as readonly string[]).includes(state)) throw invalidField("DeploymentStatus", "state");
    // A status may move the deployment to another environment (GitHub's `environment` parameter).
    const environment = stringField(body, "DeploymentStatus", "environment") ?? deployment.environment;
    const now = context.state.timestamp();
    const status: FakeDeploymentStatus = {
      id: context.state.nextId(),
      state: state as DeploymentState,
      description: stringField(body, "DeploymentStatus", "description") ?? "",
      environment,
      target_url: stringField(body, "DeploymentStatus", "target_url") ?? "",
      log_url: stringField(body, "DeploymentStatus", "log_url") ?? "",
      environment_url: stringField(body, "DeploymentStatus", "environment_url") ?? "",
      creator: context.state.bot,
      created_at: now,
      updated_at: now,
      automatic: false,
    };
    const autoInactive = booleanField(body, "DeploymentStatus", "auto_inactive", true);
    deployment.environment = environment;
    deployment.statuses.push(status);
    deployment.updated_at = now;
    if (status.state === "success" && autoInactive) deactivatePrevious(context, deployment, status.creator);
    return { status: 201, body: context.render.deploymentStatus(repo, deployment, status) };
  }),

  route("GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", "installation", (request, context) => {
    const { repo, deployment } = deploymentOf(request, context);
    const newestFirst = [...deployment.statuses].reverse();
    return pageReply(context.render.api, request, newestFirst.map((status) => context.render.deploymentStatus(repo, deployment, status)));
  }),
];
