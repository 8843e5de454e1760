import type { Probot, ProbotOctokit } from "probot";
import { z } from "zod";

/** One repository of one installation, named by its id: what GitHub calls about an environment may reach. */
export interface RepositoryScope {
  readonly installationId: number;
  readonly repoId: number;
}

/**
 * Where every installation client comes from, built on Probot's Octokit (its
 * throttling, retry, logging, our metrics and write pacing).
 *
 * `forRepository` is for anything done about an environment: its token is
 * created with `repository_ids: [repoId]` (DESIGN §3 names a repository by
 * id), so a call addressed by a name that now belongs to another repository
 * (a rename, then a new repository with the old name) is refused by GitHub
 * (404) instead of acting there. `forInstallation` reaches every repository
 * of the installation: for reads that are not one environment's (the
 * owner's `.github` repository) and for callers that know no repository.
 */
export interface InstallationClients {
  forInstallation(installationId: number): Promise<ProbotOctokit>;
  forRepository(scope: RepositoryScope): Promise<ProbotOctokit>;
}

/** GitHub's answer to `POST /app/installations/{installation_id}/access_tokens`, the part used. */
const accessTokenSchema = z.object({ token: z.string().min(1), expires_at: z.string() });

/** A token is replaced this long before GitHub's expiry (an hour after creation), so none expires in flight. */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;
/** Most repository tokens kept; beyond it the oldest is forgotten (it costs one token request when next needed). */
const MAX_CACHED_TOKENS = 10_000;

/** `probot` may be loaded later than the clients are handed out (the server loads it with the app). */
export function installationClients(probot: () => Probot, now: () => number = Date.now): InstallationClients {
  const tokens = new Map<string, Promise<{ token: string; renewAt: number }>>();

  /** The scope's token, from the cache until near its expiry; one request for concurrent callers. */
  async function tokenFor(app: ProbotOctokit, { installationId, repoId }: RepositoryScope): Promise<string> {
    const id = `${installationId}:${repoId}`;
    const cached = tokens.get(id);
    if (cached !== undefined) {
      const entry = await cached.catch(() => undefined);
      if (entry !== undefined && entry.renewAt > now()) return entry.token;
      if (tokens.get(id) === cached) tokens.delete(id);
    }
    if (!tokens.has(id)) {
      // Through the App's client: its JWT, base URL, retry and metrics.
      const created = app.request("POST /app/installations/{installation_id}/access_tokens", { installation_id: installationId, repository_ids: [repoId] }).then(({ data }) => {
        const answer = accessTokenSchema.parse(data);
        return { token: answer.token, renewAt: Date.parse(answer.expires_at) - RENEW_BEFORE_EXPIRY_MS };
      });
      // A failed request is not remembered: the next call asks again.
      created.catch(() => tokens.delete(id));
      tokens.set(id, created);
      while (tokens.size > MAX_CACHED_TOKENS) tokens.delete(tokens.keys().next().value as string);
    }
    return (await (tokens.get(id) as Promise<{ token: string }>)).token;
  }

  return {
    forInstallation: (installationId) => probot().auth(installationId),
    async forRepository(scope) {
      // The App's client: its class carries Probot's defaults (base URL, throttling, retry, plugins).
      const app = await probot().auth();
      const Octokit = app.constructor as typeof ProbotOctokit;
      return new Octokit({
        authStrategy: repositoryTokenAuth,
        // `installationId` also tells the pacing plugin whose writes these are.
        auth: { installationId: scope.installationId, token: () => tokenFor(app, scope) },
        log: app.log.child({ name: "github", installationId: scope.installationId, repoId: scope.repoId }),
      });
    },
  };
}

/**
 * An Octokit auth strategy sending the token `token()` gives, asked for at
 * each request so that one near expiry is replaced. Probot's own strategy
 * cannot be used: `@octokit/auth-app`'s request hook asks for a token of the
 * whole installation, whatever repository ids its options name.
 */
function repositoryTokenAuth({ token }: { token: () => Promise<string> }) {
  const authenticate = async () => ({ type: "token", tokenType: "installation", token: await token() });
  return Object.assign(authenticate, {
    // Octokit calls an auth hook with the request's endpoint options, already merged.
    async hook(request: (options: EndpointOptions) => Promise<unknown>, options: EndpointOptions) {
      return request({ ...options, headers: { ...options.headers, authorization: `token ${await token()}` } });
    },
  });
}

interface EndpointOptions {
  headers?: Record<string, unknown>;
}
