import { ifFound, type RepoTarget } from "./github-api.js";

export interface WriteAccessQuery extends RepoTarget {
  readonly username: string;
  /** The repository's numeric id, when known: the cache key then survives a rename. */
  readonly repoId?: number;
}

export type HasWriteAccess = (query: WriteAccessQuery) => Promise<boolean>;

export interface WriteAccessCacheOptions {
  /** How long an answer is reused; default 10 minutes. */
  readonly ttlMs?: number;
  /** Most answers kept; the oldest is forgotten first. Default 1000. */
  readonly maxEntries?: number;
  /** The clock, in ms; tests pass their own. */
  readonly now?: () => number;
}

/** The roles that grant write access (DESIGN §6). */
const WRITE_ROLES = new Set(["write", "maintain", "admin"]);
/** GitHub's base roles; any other `role_name` is an organisation's custom role. */
const BASE_ROLES = new Set(["read", "triage", "write", "maintain", "admin"]);

/**
 * `hasWriteAccess` for slash-commands, asking
 * `GET /repos/{owner}/{repo}/collaborators/{username}/permission` (needs
 * only Metadata: read; `author_association` is not reliable for this). The
 * answer is cached per repository and user, and concurrent checks share one
 * request, so a busy commenter costs one call per TTL. The price: a
 * revoked permission still counts for up to one TTL.
 */
export function createWriteAccessCheck(options: WriteAccessCacheOptions = {}): HasWriteAccess {
  const { ttlMs = 10 * 60_000, maxEntries = 1000, now = Date.now } = options;
  const answers = new Map<string, { expiresAt: number; answer: Promise<boolean> }>();

  return (query) => {
    const key = cacheKey(query);
    const cached = answers.get(key);
    if (cached && cached.expiresAt > now()) return cached.answer;

    answers.delete(key);
    if (answers.size >= maxEntries) answers.delete(answers.keys().next().value!);
    const entry = { expiresAt: now() + ttlMs, answer: fetchWriteAccess(query) };
    answers.set(key, entry);
    // A failed request is not an answer: the next check asks again.
    entry.answer.catch(() => {
      if (answers.get(key) === entry) answers.delete(key);
    });
    return entry.answer;
  };
}

/** Owner, repository and user names are case-insensitive on GitHub. */
function cacheKey({ owner, repo, repoId, username }: WriteAccessQuery): string {
  const repository = repoId === undefined ? `${owner}/${repo}`.toLowerCase() : String(repoId);
  return `${repository}:${username.toLowerCase()}`;
}

async function fetchWriteAccess({ octokit, owner, repo, username }: WriteAccessQuery): Promise<boolean> {
  // 404: no such user, or one the repository does not know: no access.
  const response = await ifFound(() => octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username }));
  if (!response) return false;
  const { permission, role_name } = response.data;
  // `role_name` is the exact role; `permission` folds maintain into write and triage into read (which agrees with
  // our threshold, so it is a safe fallback). A custom role's name says nothing: then its base `permission` decides.
  const role = BASE_ROLES.has(role_name) ? role_name : permission;
  return WRITE_ROLES.has(role);
}
