/**
 * The fake's inspectable model. Records are plain mutable objects on purpose:
 * tests read them directly (`gh.state.deployments[0].statuses`) and the route
 * handlers render them into GitHub's JSON shapes (render.ts).
 */

export type PermissionLevel = "read" | "triage" | "write" | "maintain" | "admin" | "none";

export interface FakeActor {
  login: string;
  id: number;
  type: "User" | "Bot" | "Organization";
}

export interface FakeInstallation {
  id: number;
  account: FakeActor;
}

export interface FakeRepo {
  id: number;
  owner: FakeActor;
  name: string;
  fullName: string;
  defaultBranch: string;
  /** What the default branch points at; a deployment of that ref gets this sha. */
  defaultBranchSha: string;
  installationId: number;
  private: boolean;
  /** File contents on the default branch, by path. The fake has no other branches. */
  files: Map<string, string>;
  /** Collaborators' permissions by lower-cased login; others are unknown (404). */
  permissions: Map<string, PermissionLevel>;
  pulls: Map<number, FakePull>;
}

export interface FakePull {
  number: number;
  id: number;
  state: "open" | "closed";
  title: string;
  body: string | null;
  user: FakeActor;
  draft: boolean;
  merged: boolean;
  labels: string[];
  head: { sha: string; ref: string; repo: { fullName: string; id: number; owner: FakeActor } };
  base: { sha: string; ref: string };
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
}

export type AuthorAssociation = "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR" | "FIRST_TIME_CONTRIBUTOR" | "NONE";

export interface FakeComment {
  id: number;
  repoId: number;
  issueNumber: number;
  body: string;
  user: FakeActor;
  author_association: AuthorAssociation;
  created_at: string;
  updated_at: string;
  /** Deleted comments stay in the model (so tests see what happened) but answer 404. */
  deleted: boolean;
}

export const REACTIONS = ["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"] as const;
export type ReactionContent = (typeof REACTIONS)[number];

export interface FakeReaction {
  id: number;
  commentId: number;
  content: ReactionContent;
  user: FakeActor;
  created_at: string;
}

export const DEPLOYMENT_STATES = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

export interface FakeDeploymentStatus {
  id: number;
  state: DeploymentState;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  creator: FakeActor;
  created_at: string;
  updated_at: string;
  /** True for the `inactive` statuses GitHub adds by itself (`auto_inactive`), which no request created. */
  automatic: boolean;
}

export interface FakeDeployment {
  id: number;
  repoId: number;
  sha: string;
  ref: string;
  task: string;
  payload: unknown;
  environment: string;
  original_environment: string;
  description: string | null;
  transient_environment: boolean;
  production_environment: boolean;
  auto_merge: boolean;
  required_contexts: string[] | undefined;
  creator: FakeActor;
  created_at: string;
  updated_at: string;
  /** Oldest first (the API lists them newest first). */
  statuses: FakeDeploymentStatus[];
  /** The request body exactly as sent, so tests can assert fields the fake does not model. */
  request: Record<string, unknown>;
}

export interface FakeDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  /** "OK" for a 2xx answer, else e.g. "Invalid HTTP Response: 500" as GitHub shows it. */
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  /** The webhook body, kept for an `onRedeliver` hook that re-sends it; not part of the API answer. */
  payload?: unknown;
}

export interface RedeliveryAttempt {
  deliveryId: number;
  guid: string;
  at: string;
}
