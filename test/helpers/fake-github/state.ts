import { createHash, randomUUID } from "node:crypto";
import type {
  AuthorAssociation,
  FakeActor,
  FakeComment,
  FakeDelivery,
  FakeDeployment,
  FakeInstallation,
  FakePull,
  FakeReaction,
  FakeRepo,
  PermissionLevel,
  RedeliveryAttempt,
} from "./model.js";

/** A repository as tests name it: `"owner/name"` or the record `addRepo` returned. */
export type RepoRef = string | { owner: { login: string } | string; name: string };

export interface RepoInput {
  id?: number;
  owner: string;
  name: string;
  defaultBranch?: string;
  installationId: number;
  private?: boolean;
  ownerType?: "User" | "Organization";
}

export interface PullInput {
  number: number;
  state?: "open" | "closed";
  head: { sha: string; ref: string; /** `"owner/name"` of a fork; default: the repository itself. */ repo?: string };
  base?: { ref?: string; sha?: string };
  /** A merged pull request is closed whatever `state` says, as on GitHub. */
  merged?: boolean;
  draft?: boolean;
  labels?: string[];
  title?: string;
  body?: string | null;
  /** Author login (default `octocat`). */
  user?: string;
}

export interface CommentInput {
  body: string;
  /** Author login (default `octocat`); the app's own comments come from requests. */
  user?: string;
  author_association?: AuthorAssociation;
}

export interface DeliveryInput {
  id?: number;
  guid?: string;
  /** Default "OK"; a failure as GitHub words it, e.g. "Invalid HTTP Response: 500". */
  status?: string;
  /** Default: 200 for "OK", else the number in `status`, else 502. */
  status_code?: number;
  event: string;
  action?: string | null;
  delivered_at?: string | Date;
  installation_id?: number | null;
  repository_id?: number | null;
  redelivery?: boolean;
  /** Seconds the delivery took (default 0.05). */
  duration?: number;
  payload?: unknown;
}

/** GitHub's timestamps: ISO 8601 UTC without milliseconds. */
export const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

export function deliveryStatus(statusCode: number): string {
  return statusCode >= 200 && statusCode < 300 ? "OK" : `Invalid HTTP Response: ${statusCode}`;
}

export class FakeState {
  readonly installations = new Map<number, FakeInstallation>();
  readonly repos: FakeRepo[] = [];
  readonly comments: FakeComment[] = [];
  readonly reactions: FakeReaction[] = [];
  readonly deployments: FakeDeployment[] = [];
  readonly deliveries: FakeDelivery[] = [];
  readonly redeliveryAttempts: RedeliveryAttempt[] = [];
  readonly bot: FakeActor;
  private readonly actors = new Map<string, FakeActor>();
  private readonly forkIds = new Map<string, number>();
  private lastId = 1000;

  constructor(
    readonly app: { id: number; slug: string; name: string },
    readonly now: () => Date,
  ) {
    // A bot's user id is unrelated to the App id on GitHub; derive one that is stable per App.
    this.bot = { login: `${app.slug}[bot]`, id: 9_000_000 + app.id, type: "Bot" };
    this.actors.set(this.bot.login.toLowerCase(), this.bot);
  }

  /** One counter for every kind of id, so a comment id used as a deployment id finds nothing. */
  nextId(): number {
    return ++this.lastId;
  }

  timestamp(): string {
    return iso(this.now());
  }

  /** The same login always gets the same user object. */
  actor(login: string, type: FakeActor["type"] = "User"): FakeActor {
    const key = login.toLowerCase();
    let actor = this.actors.get(key);
    if (!actor) {
      actor = { login, id: this.nextId(), type };
      this.actors.set(key, actor);
    }
    return actor;
  }

  findActor(login: string): FakeActor | undefined {
    return this.actors.get(login.toLowerCase());
  }

  findRepo(owner: string, name: string): FakeRepo | undefined {
    const fullName = `${owner}/${name}`.toLowerCase();
    return this.repos.find((repo) => repo.fullName.toLowerCase() === fullName);
  }

  repoById(id: number): FakeRepo | undefined {
    return this.repos.find((repo) => repo.id === id);
  }

  /** For test set-up: an unknown repository is a mistake in the test, so it throws. */
  repo(ref: RepoRef): FakeRepo {
    const [owner, name] = typeof ref === "string" ? ref.split("/") : [typeof ref.owner === "string" ? ref.owner : ref.owner.login, ref.name];
    const repo = owner && name ? this.findRepo(owner, name) : undefined;
    if (!repo) throw new Error(`fake GitHub: no repository ${JSON.stringify(typeof ref === "string" ? ref : `${owner}/${name}`)}; addRepo it first`);
    return repo;
  }

  addRepo(input: RepoInput): FakeRepo {
    const owner = this.actor(input.owner, input.ownerType ?? "Organization");
    const fullName = `${input.owner}/${input.name}`;
    if (this.findRepo(input.owner, input.name)) throw new Error(`fake GitHub: repository ${fullName} exists`);
    const repo: FakeRepo = {
      id: input.id ?? this.nextId(),
      owner,
      name: input.name,
      fullName,
      defaultBranch: input.defaultBranch ?? "main",
      defaultBranchSha: createHash("sha1").update(fullName).digest("hex"),
      installationId: input.installationId,
      private: input.private ?? true,
      files: new Map(),
      permissions: new Map(),
      pulls: new Map(),
    };
    if (!this.installations.has(repo.installationId)) this.installations.set(repo.installationId, { id: repo.installationId, account: owner });
    this.repos.push(repo);
    return repo;
  }

  /**
   * Renames a repository; its id, pulls, comments and deployments stay. The
   * old name is free for a new repository at once (GitHub's redirect from
   * the old name is not modelled: it ends when the name is taken anyway).
   */
  renameRepo(ref: RepoRef, newName: string): FakeRepo {
    const repo = this.repo(ref);
    if (this.findRepo(repo.owner.login, newName)) throw new Error(`fake GitHub: repository ${repo.owner.login}/${newName} exists`);
    repo.name = newName;
    repo.fullName = `${repo.owner.login}/${newName}`;
    for (const pull of repo.pulls.values()) if (pull.head.repo.id === repo.id) pull.head.repo.fullName = repo.fullName;
    return repo;
  }

  /** Creates or updates a pull request; fields not given keep their value. */
  setPull(ref: RepoRef, input: PullInput): FakePull {
    const repo = this.repo(ref);
    const existing = repo.pulls.get(input.number);
    const now = this.timestamp();
    const merged = input.merged ?? existing?.merged ?? false;
    const state = merged ? "closed" : (input.state ?? existing?.state ?? "open");
    const headRepo = input.head.repo ?? existing?.head.repo.fullName ?? repo.fullName;
    const pull: FakePull = {
      number: input.number,
      id: existing?.id ?? this.nextId(),
      state,
      title: input.title ?? existing?.title ?? `Pull request #${input.number}`,
      body: input.body !== undefined ? input.body : (existing?.body ?? null),
      user: input.user ? this.actor(input.user) : (existing?.user ?? this.actor("octocat")),
      draft: input.draft ?? existing?.draft ?? false,
      merged,
      labels: input.labels ?? existing?.labels ?? [],
      head: { sha: input.head.sha, ref: input.head.ref, repo: this.headRepo(repo, headRepo) },
      base: { ref: input.base?.ref ?? repo.defaultBranch, sha: input.base?.sha ?? repo.defaultBranchSha },
      created_at: existing?.created_at ?? now,
      updated_at: now,
      closed_at: state === "closed" ? (existing?.closed_at ?? now) : null,
      merged_at: merged ? (existing?.merged_at ?? now) : null,
    };
    repo.pulls.set(pull.number, pull);
    return pull;
  }

  /** A fork is not a registered repository; it still needs a stable id and owner for `head.repo`. */
  private headRepo(base: FakeRepo, fullName: string): FakePull["head"]["repo"] {
    if (fullName === base.fullName) return { fullName, id: base.id, owner: base.owner };
    const [owner = fullName, name = ""] = fullName.split("/");
    const known = this.findRepo(owner, name);
    let id = known?.id ?? this.forkIds.get(fullName.toLowerCase());
    if (id === undefined) this.forkIds.set(fullName.toLowerCase(), (id = this.nextId()));
    return { fullName, id, owner: this.actor(owner) };
  }

  setPermission(ref: RepoRef, login: string, level: PermissionLevel): void {
    this.actor(login);
    this.repo(ref).permissions.set(login.toLowerCase(), level);
  }

  addComment(ref: RepoRef, issueNumber: number, input: CommentInput): FakeComment {
    const repo = this.repo(ref);
    const user = this.actor(input.user ?? "octocat");
    return this.createComment(repo, issueNumber, input.body, user, input.author_association ?? "CONTRIBUTOR");
  }

  createComment(repo: FakeRepo, issueNumber: number, body: string, user: FakeActor, association: AuthorAssociation): FakeComment {
    const now = this.timestamp();
    const comment: FakeComment = {
      id: this.nextId(),
      repoId: repo.id,
      issueNumber,
      body,
      user,
      author_association: association,
      created_at: now,
      updated_at: now,
      deleted: false,
    };
    this.comments.push(comment);
    return comment;
  }

  /** Live comments on one issue or pull request, oldest first. */
  commentsOn(ref: RepoRef, issueNumber: number): FakeComment[] {
    const repo = this.repo(ref);
    return this.comments.filter((comment) => comment.repoId === repo.id && comment.issueNumber === issueNumber && !comment.deleted);
  }

  reactionsOn(commentId: number): FakeReaction[] {
    return this.reactions.filter((reaction) => reaction.commentId === commentId);
  }

  deploymentsOf(ref: RepoRef, environment?: string): FakeDeployment[] {
    const repo = this.repo(ref);
    return this.deployments.filter((deployment) => deployment.repoId === repo.id && (environment === undefined || deployment.environment === environment));
  }

  addDelivery(input: DeliveryInput): FakeDelivery {
    const status = input.status ?? "OK";
    const delivery: FakeDelivery = {
      id: input.id ?? this.nextId(),
      guid: input.guid ?? randomUUID(),
      // Normalised, so that listing newest first can compare the strings.
      delivered_at: input.delivered_at === undefined ? this.timestamp() : iso(new Date(input.delivered_at)),
      redelivery: input.redelivery ?? false,
      duration: input.duration ?? 0.05,
      status,
      status_code: input.status_code ?? (status === "OK" ? 200 : Number(/\b(\d{3})\b/.exec(status)?.[1] ?? 502)),
      event: input.event,
      action: input.action ?? null,
      installation_id: input.installation_id ?? null,
      repository_id: input.repository_id ?? null,
      payload: input.payload,
    };
    this.deliveries.push(delivery);
    return delivery;
  }
}
