import nock from "nock";
import { checkGitHubRequest, describeInvalidRequests, type GitHubRequestCheck } from "./github-openapi.js";

/**
 * GitHub's API at `https://github.test/api/v3` (GHE_HOST=github.test) made
 * of nock interceptors, for the one repository and PR a test drives. Each
 * route keeps just enough state to answer as GitHub does (comments,
 * deployments and their statuses, reactions) and records every request in
 * order; any request no route expects is kept in `unmatched` and gets nock's
 * error. Every request a route takes is also checked against GitHub's OpenAPI
 * description (./github-openapi.ts): an invalid one is answered as usual, kept
 * in `invalid`, and `dispose()` then fails the test listing them. Only one can
 * be active at a time: nock's interceptors are global.
 */

export const NOCK_GITHUB_ENV = { GHE_HOST: "github.test", GHE_PROTOCOL: "https" } as const;
const ORIGIN = "https://github.test";
const BOT = { login: "ephemera[bot]", id: 9_004_242, type: "Bot" };

export interface NockRequest {
  method: string;
  /** The route in GitHub's spelling, e.g. `/repos/{owner}/{repo}/deployments`. */
  route: string;
  path: string;
  body: any;
  /** `app` (JWT), `installation` (token) or `none`, from the Authorization header. */
  auth: "app" | "installation" | "none";
}

export interface NockRepo {
  owner: string;
  name: string;
  installationId: number;
  pr: number;
  /** Collaborators' permission; anyone else is unknown to GitHub (404). */
  permissions: Record<string, "read" | "write" | "admin">;
}

interface Comment {
  id: number;
  body: string;
  user: typeof BOT;
}
interface Deployment {
  id: number;
  sha: string;
  environment: string;
  request: Record<string, unknown>;
  /** Oldest first; the API lists them newest first. */
  statuses: Array<{ state: string; environment_url?: string; description?: string }>;
}

type Reply = [status: number, body: unknown];
interface Route {
  method: "GET" | "POST" | "PATCH";
  /** GitHub's spelling; `{name}` segments match one path segment, `{path*}` the rest. */
  template: string;
  auth: "app" | "installation";
  handle(params: Record<string, string>, body: any, query: URLSearchParams): Reply;
}

export class NockGitHub {
  readonly requests: NockRequest[] = [];
  readonly unmatched: string[] = [];
  /** Requests not valid against GitHub's OpenAPI description. `dispose()` throws unless empty. */
  readonly invalid: Array<{ method: string; path: string; check: GitHubRequestCheck }> = [];
  readonly comments: Comment[] = [];
  readonly deployments: Deployment[] = [];
  readonly reactions: Array<{ commentId: number; content: string }> = [];
  private lastId = 1000;
  private readonly onNoMatch = (request: { method?: string; host?: string; hostname?: string; path?: string }, options?: typeof request) => {
    const seen = options ?? request;
    if ((seen.host ?? seen.hostname ?? "").startsWith(NOCK_GITHUB_ENV.GHE_HOST)) this.unmatched.push(`${seen.method} ${seen.path}`);
  };

  constructor(readonly repo: NockRepo) {
    nock.disableNetConnect();
    // The app's webhook endpoint and Redis are local.
    nock.enableNetConnect("127.0.0.1");
    nock.emitter.on("no match", this.onNoMatch);
    for (const route of this.routes()) this.intercept(route);
  }

  /** Requests per route, `METHOD route: count`, in first-seen order. */
  countsByRoute(requests: readonly NockRequest[] = this.requests): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { method, route } of requests) counts[`${method} ${route}`] = (counts[`${method} ${route}`] ?? 0) + 1;
    return counts;
  }

  /** Removes the interceptors, then throws if any request was invalid against GitHub's OpenAPI description. */
  dispose(): void {
    nock.emitter.off("no match", this.onNoMatch);
    nock.cleanAll();
    nock.enableNetConnect();
    if (this.invalid.length > 0) throw new Error(describeInvalidRequests(this.invalid.splice(0)));
  }

  private intercept(route: Route): void {
    const pattern = new RegExp(
      `^/api/v3${route.template.replace(/\{(\w+)\*\}/g, "(?<$1>.+)").replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`,
    );
    const pathOf = (uri: string) => decodeURIComponent(uri.split("?")[0] ?? "");
    const github = this;
    nock(ORIGIN)
      .persist()
      .intercept((uri) => pattern.test(pathOf(uri)), route.method)
      .query(true)
      .reply(function (uri, body) {
        const path = pathOf(uri);
        const authorization = String(this.req.headers.authorization ?? "");
        const auth = /^bearer /i.test(authorization) ? "app" : /^token /i.test(authorization) ? "installation" : "none";
        github.requests.push({ method: route.method, route: route.template, path: path.slice("/api/v3".length), body, auth });
        // nock hands an empty body over as "".
        const check = checkGitHubRequest({ method: route.method, path: uri, headers: this.req.headers, body: body === "" ? undefined : body });
        if (check.problems.length > 0) github.invalid.push({ method: route.method, path: uri.slice("/api/v3".length), check });
        if (auth !== route.auth) return [401, { message: `expected ${route.auth} credentials` }];
        const [status, reply] = route.handle(pattern.exec(path)?.groups ?? {}, body, new URLSearchParams(uri.split("?")[1] ?? ""));
        return [status, reply as nock.Body];
      });
  }

  private nextId(): number {
    return ++this.lastId;
  }

  private routes(): Route[] {
    const { owner, name, installationId, pr, permissions } = this.repo;
    const repo = `/repos/${owner}/${name}`;
    const notFound: Reply = [404, { message: "Not Found" }];
    const comment = (id: string) => this.comments.find((candidate) => candidate.id === Number(id));
    const deployment = (id: string) => this.deployments.find((candidate) => candidate.id === Number(id));
    return [
      { method: "GET", template: "/app", auth: "app", handle: () => [200, { id: 4242, slug: "ephemera", name: "Ephemera" }] },
      { method: "GET", template: "/app/hook/deliveries", auth: "app", handle: () => [200, []] },
      {
        method: "POST",
        template: `/app/installations/${installationId}/access_tokens`,
        auth: "app",
        handle: () => [201, { token: "ghs_nocktoken", expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {} }],
      },
      // No `.github/ephemera.yml`, in the repository nor in the owner's `.github` repository.
      { method: "GET", template: `${repo}/contents/{path*}`, auth: "installation", handle: () => notFound },
      { method: "GET", template: `/repos/${owner}/.github/contents/{path*}`, auth: "installation", handle: () => notFound },
      { method: "GET", template: `${repo}/issues/${pr}/comments`, auth: "installation", handle: () => [200, this.comments] },
      {
        method: "POST",
        template: `${repo}/issues/${pr}/comments`,
        auth: "installation",
        handle: (_, body) => {
          const created = { id: this.nextId(), body: String(body.body), user: BOT };
          this.comments.push(created);
          return [201, created];
        },
      },
      { method: "GET", template: `${repo}/issues/comments/{id}`, auth: "installation", handle: ({ id = "" }) => (comment(id) ? [200, comment(id)] : notFound) },
      {
        method: "PATCH",
        template: `${repo}/issues/comments/{id}`,
        auth: "installation",
        handle: ({ id = "" }, body) => {
          const edited = comment(id);
          if (!edited) return notFound;
          edited.body = String(body.body);
          return [200, edited];
        },
      },
      {
        method: "POST",
        template: `${repo}/issues/comments/{id}/reactions`,
        auth: "installation",
        handle: ({ id = "" }, body) => {
          const existing = this.reactions.find((reaction) => reaction.commentId === Number(id) && reaction.content === body.content);
          if (!existing) this.reactions.push({ commentId: Number(id), content: String(body.content) });
          return [existing ? 200 : 201, { id: this.nextId(), content: body.content, user: BOT }];
        },
      },
      {
        method: "GET",
        template: `${repo}/collaborators/{user}/permission`,
        auth: "installation",
        handle: ({ user = "" }) => {
          const role = permissions[user];
          return role ? [200, { permission: role, role_name: role, user: { login: user } }] : notFound;
        },
      },
      {
        method: "GET",
        template: `${repo}/deployments`,
        auth: "installation",
        handle: (_, _body, query) => {
          const listed = this.deployments.filter(
            ({ sha, environment }) => (query.get("sha") ?? sha) === sha && (query.get("environment") ?? environment) === environment,
          );
          // Newest first, as GitHub lists them.
          return [200, listed.reverse().map(({ id, sha, environment }) => ({ id, sha, environment, creator: BOT }))];
        },
      },
      {
        method: "POST",
        template: `${repo}/deployments`,
        auth: "installation",
        handle: (_, body) => {
          const created = { id: this.nextId(), sha: String(body.ref), environment: String(body.environment), request: body, statuses: [] };
          this.deployments.push(created);
          return [201, { id: created.id, sha: created.sha, environment: created.environment, creator: BOT }];
        },
      },
      {
        method: "GET",
        template: `${repo}/deployments/{id}/statuses`,
        auth: "installation",
        handle: ({ id = "" }) => (deployment(id) ? [200, [...deployment(id)!.statuses].reverse()] : notFound),
      },
      {
        method: "POST",
        template: `${repo}/deployments/{id}/statuses`,
        auth: "installation",
        handle: ({ id = "" }, body) => {
          const target = deployment(id);
          if (!target) return notFound;
          target.statuses.push(body);
          return [201, { id: this.nextId(), ...body }];
        },
      },
    ];
  }
}
