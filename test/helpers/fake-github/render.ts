import type { RestEndpointMethodTypes as Api } from "@octokit/rest";
import type { FakeActor, FakeComment, FakeDelivery, FakeDeployment, FakeDeploymentStatus, FakeInstallation, FakeReaction, FakeRepo } from "./model.js";
import { REACTIONS } from "./model.js";
import type { FakeState } from "./state.js";

// Shapes are typed against @octokit/rest's endpoint types (GitHub's OpenAPI
// description) where the schema is small enough to fill completely, so tsc
// catches a missing field. Repositories (~75 required fields) and pull
// requests (render-pull.ts) carry what Octokit, Probot and Ephemera read.
type SimpleUser = NonNullable<Api["issues"]["createComment"]["response"]["data"]["user"]>;
type Integration = Api["apps"]["getAuthenticated"]["response"]["data"];
type IssueComment = Api["issues"]["createComment"]["response"]["data"];
type Reaction = Api["reactions"]["createForIssueComment"]["response"]["data"];
type Deployment = Api["repos"]["getDeployment"]["response"]["data"];
type DeploymentStatus = Api["repos"]["createDeploymentStatus"]["response"]["data"];
type Installation = Api["apps"]["getInstallation"]["response"]["data"];
type DeliveryItem = Api["apps"]["listWebhookDeliveries"]["response"]["data"][number];
type Collaborator = NonNullable<Api["repos"]["getCollaboratorPermissionLevel"]["response"]["data"]["user"]>;

/** What the installation tokens may do: what Ephemera asks for in app.yml. */
export const APP_PERMISSIONS = { metadata: "read", contents: "read", issues: "write", pull_requests: "write", deployments: "write" } as const;
export const APP_EVENTS = ["pull_request", "issue_comment", "installation", "installation_repositories"];

export const nodeId = (kind: string, id: number) => Buffer.from(`0:${kind}${id}`).toString("base64url");

/** Turns model records into GitHub's JSON, with URLs that point back at this fake. */
export class Renderer {
  constructor(
    readonly state: FakeState,
    /** e.g. http://127.0.0.1:PORT/api/v3 */
    readonly api: string,
    /** e.g. http://127.0.0.1:PORT (GitHub Enterprise serves html_url from the bare host) */
    readonly web: string,
  ) {}

  user(actor: FakeActor): SimpleUser {
    const url = `${this.api}/users/${actor.login}`;
    return {
      login: actor.login,
      id: actor.id,
      node_id: nodeId(actor.type, actor.id),
      avatar_url: `${this.web}/avatars/u/${actor.id}`,
      gravatar_id: "",
      url,
      html_url: actor.type === "Bot" ? `${this.web}/apps/${this.state.app.slug}` : `${this.web}/${actor.login}`,
      followers_url: `${url}/followers`,
      following_url: `${url}/following{/other_user}`,
      gists_url: `${url}/gists{/gist_id}`,
      starred_url: `${url}/starred{/owner}{/repo}`,
      subscriptions_url: `${url}/subscriptions`,
      organizations_url: `${url}/orgs`,
      repos_url: `${url}/repos`,
      events_url: `${url}/events{/privacy}`,
      received_events_url: `${url}/received_events`,
      type: actor.type,
      site_admin: false,
      user_view_type: "public",
    };
  }

  app(): Integration {
    const { app } = this.state;
    const owner = this.state.actor("ephemera-dev", "Organization");
    return {
      id: app.id,
      slug: app.slug,
      node_id: nodeId("App", app.id),
      client_id: `Iv1.${app.id.toString(16).padStart(16, "0")}`,
      owner: this.user(owner),
      name: app.name,
      description: "Short-lived environments for pull requests",
      external_url: `${this.web}/${owner.login}`,
      html_url: `${this.web}/apps/${app.slug}`,
      created_at: "2024-01-01T00:00:00Z",
      updated_at: "2024-01-01T00:00:00Z",
      permissions: { ...APP_PERMISSIONS },
      events: APP_EVENTS,
      installations_count: this.state.installations.size,
    };
  }

  installation(installation: FakeInstallation): Installation {
    const { app } = this.state;
    return {
      id: installation.id,
      account: this.user(installation.account),
      repository_selection: "selected",
      access_tokens_url: `${this.api}/app/installations/${installation.id}/access_tokens`,
      repositories_url: `${this.api}/installation/repositories`,
      html_url: `${this.web}/organizations/${installation.account.login}/settings/installations/${installation.id}`,
      app_id: app.id,
      app_slug: app.slug,
      target_id: installation.account.id,
      target_type: installation.account.type,
      permissions: { ...APP_PERMISSIONS },
      events: APP_EVENTS,
      created_at: "2024-01-01T00:00:00Z",
      updated_at: "2024-01-01T00:00:00Z",
      single_file_name: null,
      suspended_by: null,
      suspended_at: null,
    };
  }

  repository(repo: FakeRepo) {
    const url = `${this.api}/repos/${repo.fullName}`;
    return {
      id: repo.id,
      node_id: nodeId("Repository", repo.id),
      name: repo.name,
      full_name: repo.fullName,
      private: repo.private,
      visibility: repo.private ? "private" : "public",
      owner: this.user(repo.owner),
      html_url: `${this.web}/${repo.fullName}`,
      description: null,
      fork: false,
      url,
      pulls_url: `${url}/pulls{/number}`,
      issues_url: `${url}/issues{/number}`,
      deployments_url: `${url}/deployments`,
      contents_url: `${url}/contents/{+path}`,
      default_branch: repo.defaultBranch,
      archived: false,
      disabled: false,
      created_at: "2024-01-01T00:00:00Z",
      updated_at: "2024-01-01T00:00:00Z",
      pushed_at: "2024-01-01T00:00:00Z",
    };
  }

  comment(repo: FakeRepo, comment: FakeComment): IssueComment {
    const url = `${this.api}/repos/${repo.fullName}/issues/comments/${comment.id}`;
    const counts = Object.fromEntries(REACTIONS.map((content) => [content, 0])) as Record<(typeof REACTIONS)[number], number>;
    const reactions = this.state.reactionsOn(comment.id);
    for (const reaction of reactions) counts[reaction.content] += 1;
    return {
      id: comment.id,
      node_id: nodeId("IssueComment", comment.id),
      url,
      html_url: `${this.web}/${repo.fullName}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
      issue_url: `${this.api}/repos/${repo.fullName}/issues/${comment.issueNumber}`,
      body: comment.body,
      user: this.user(comment.user),
      created_at: comment.created_at,
      updated_at: comment.updated_at,
      author_association: comment.author_association,
      performed_via_github_app: comment.user.type === "Bot" ? this.app() : null,
      reactions: { url: `${url}/reactions`, total_count: reactions.length, ...counts },
    };
  }

  reaction(reaction: FakeReaction): Reaction {
    return {
      id: reaction.id,
      node_id: nodeId("Reaction", reaction.id),
      user: this.user(reaction.user),
      content: reaction.content,
      created_at: reaction.created_at,
    };
  }

  deployment(repo: FakeRepo, deployment: FakeDeployment): Deployment {
    const url = `${this.api}/repos/${repo.fullName}/deployments/${deployment.id}`;
    return {
      url,
      id: deployment.id,
      node_id: nodeId("Deployment", deployment.id),
      sha: deployment.sha,
      ref: deployment.ref,
      task: deployment.task,
      payload: deployment.payload as Deployment["payload"],
      original_environment: deployment.original_environment,
      environment: deployment.environment,
      description: deployment.description,
      creator: this.user(deployment.creator),
      created_at: deployment.created_at,
      updated_at: deployment.updated_at,
      statuses_url: `${url}/statuses`,
      repository_url: `${this.api}/repos/${repo.fullName}`,
      transient_environment: deployment.transient_environment,
      production_environment: deployment.production_environment,
      performed_via_github_app: deployment.creator.type === "Bot" ? this.app() : null,
    };
  }

  deploymentStatus(repo: FakeRepo, deployment: FakeDeployment, status: FakeDeploymentStatus): DeploymentStatus {
    const deploymentUrl = `${this.api}/repos/${repo.fullName}/deployments/${deployment.id}`;
    return {
      url: `${deploymentUrl}/statuses/${status.id}`,
      id: status.id,
      node_id: nodeId("DeploymentStatus", status.id),
      state: status.state,
      creator: this.user(status.creator),
      description: status.description,
      environment: status.environment,
      target_url: status.target_url,
      log_url: status.log_url,
      environment_url: status.environment_url,
      created_at: status.created_at,
      updated_at: status.updated_at,
      deployment_url: deploymentUrl,
      repository_url: `${this.api}/repos/${repo.fullName}`,
      performed_via_github_app: status.creator.type === "Bot" ? this.app() : null,
    };
  }

  collaborator(actor: FakeActor, role: string): Collaborator {
    const at = (levels: string[]) => levels.includes(role);
    return {
      ...this.user(actor),
      permissions: {
        admin: at(["admin"]),
        maintain: at(["admin", "maintain"]),
        push: at(["admin", "maintain", "write"]),
        triage: at(["admin", "maintain", "write", "triage"]),
        pull: at(["admin", "maintain", "write", "triage", "read"]),
      },
      role_name: role,
    };
  }

  delivery(delivery: FakeDelivery): DeliveryItem {
    const { payload: _payload, ...item } = delivery;
    return { ...item, throttled_at: null };
  }
}
