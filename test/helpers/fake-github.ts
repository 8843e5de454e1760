import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Authenticator } from "./fake-github/auth.js";
import type { FakeContext } from "./fake-github/context.js";
import { Faults, type Fault } from "./fake-github/faults.js";
import type { FakeActor, FakeComment, FakeDelivery, FakeDeployment, FakePull, FakeRepo, PermissionLevel } from "./fake-github/model.js";
import { requestMatcher, type MethodPattern, type PathPattern } from "./fake-github/patterns.js";
import { RateLimits } from "./fake-github/rate-limit.js";
import { Redeliveries, type RedeliverHook } from "./fake-github/redelivery.js";
import { Renderer } from "./fake-github/render.js";
import { appRoutes } from "./fake-github/routes/app.js";
import { deliveryRoutes } from "./fake-github/routes/deliveries.js";
import { deploymentRoutes } from "./fake-github/routes/deployments.js";
import { issueRoutes } from "./fake-github/routes/issues.js";
import { repoRoutes } from "./fake-github/routes/repos.js";
import { createRequestHandler, type RecordedRequest } from "./fake-github/server.js";
import { describeInvalidRequests } from "./github-openapi.js";
import { FakeState, type CommentInput, type DeliveryInput, type PullInput, type RepoInput, type RepoRef } from "./fake-github/state.js";

/**
 * A fake of the GitHub REST API over node:http, for end-to-end tests in which
 * the real Ephemera process (Probot) talks to it through `GHE_HOST` /
 * `GHE_PROTOCOL`. It answers the endpoints Ephemera uses with GitHub's shapes,
 * enforces who may call what (installation token vs App JWT, the token's
 * installation must own the repository), and records every request so tests
 * assert exactly what Ephemera did. Anything it does not know answers 404 and
 * lands in `unexpected`. Every request is also checked against GitHub's
 * OpenAPI description (./github-openapi.ts): an invalid one is answered as
 * usual but kept in `invalid`, and `close()` then fails the test listing them.
 *
 *     const gh = await startFakeGitHub({ appId: APP_ID, privateKeyPem: PRIVATE_KEY });
 *     const repo = gh.addRepo({ id: 123456, owner: "acme", name: "web", installationId: 77 });
 *     gh.setPull(repo, { number: 42, head: { sha, ref: "feature" } });
 *     gh.setFile(repo, ".github/ephemera.yml", "ttl: 4h\n");
 *     const app = await spawnApp({ env: { ...gh.env, APP_ID, PRIVATE_KEY, WEBHOOK_SECRET } });
 *     // deliver a pull_request.opened webhook, then:
 *     expect(gh.commentsOn(repo, 42)).toHaveLength(1);
 *     expect(gh.count("POST", "/repos/acme/web/deployments")).toBe(1);
 *     expect(gh.unexpected).toEqual([]);
 *
 * Routes: app.ts (App, installations, tokens, users, rate limit), deliveries.ts,
 * repos.ts (repository, pulls, permission, contents), issues.ts (comments,
 * reactions), deployments.ts; all under ./fake-github/routes.
 */

export type { Fault } from "./fake-github/faults.js";
export type * from "./fake-github/model.js";
export type { MethodPattern, PathPattern } from "./fake-github/patterns.js";
export type { RecordedRequest } from "./fake-github/server.js";
export type { CommentInput, DeliveryInput, PullInput, RepoInput, RepoRef } from "./fake-github/state.js";

export interface FakeGitHubOptions {
  appId: number | string;
  /** The bot user is `<slug>[bot]` (default `ephemera`). */
  appSlug?: string;
  /** When given, App JWTs must be RS256-signed by this key (the App's private key PEM); otherwise only `iss` and `exp` are checked. */
  privateKeyPem?: string;
  /** Requests per hour per installation (default 5000). */
  rateLimit?: number;
  /** The fake's clock: timestamps, token and JWT expiry, rate-limit windows, the 3-day redelivery window. */
  now?: () => Date;
  /**
   * Called when the App asks to redeliver a delivery (after the 202 went out,
   * as on GitHub), e.g. to re-post the stored `payload` to the app's webhook
   * URL; returns the status the app answered. Without it every redelivery
   * "succeeds" (200). The new attempt is listed once this settles.
   */
  onRedeliver?: RedeliverHook;
}

export interface FakeGitHub {
  /** `http://127.0.0.1:PORT/api/v3`: Octokit's and Probot's `baseUrl`. */
  readonly baseUrl: string;
  /** The environment the Ephemera process needs to talk to this fake (Probot builds `baseUrl` from it). */
  readonly env: { GHE_HOST: string; GHE_PROTOCOL: "http" };
  /** Every request, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests no route matched (answered 404). A clean run leaves this empty. */
  readonly unexpected: readonly RecordedRequest[];
  /** Requests not valid against GitHub's OpenAPI description, each with its `openapi` problems. `close()` throws unless empty. */
  readonly invalid: readonly RecordedRequest[];
  readonly state: FakeState;
  /** The App's bot user, author of everything an installation token creates. */
  readonly bot: FakeActor;

  requestsMatching(method: MethodPattern, path: PathPattern): RecordedRequest[];
  count(method: MethodPattern, path: PathPattern): number;
  /** Forgets recorded requests (not the model, nor `invalid`), e.g. between phases of one test. */
  clearRequests(): void;
  /** Returns and forgets the invalid requests, for a test that sends them on purpose. */
  takeInvalid(): RecordedRequest[];
  /** Throws listing the requests invalid against GitHub's OpenAPI description (method, path, operationId, each problem), and forgets them. */
  assertValidRequests(): void;

  addRepo(input: RepoInput): FakeRepo;
  /** Renames a repository (same id); the old name is free for `addRepo` at once. */
  renameRepo(repo: RepoRef, newName: string): FakeRepo;
  setPull(repo: RepoRef, input: PullInput): FakePull;
  /** Unset logins answer 404 (unknown user); `"none"` answers 200 with permission `none`. */
  setPermission(repo: RepoRef, login: string, level: PermissionLevel): void;
  /** A file on the default branch; `undefined` deletes it. */
  setFile(repo: RepoRef, path: string, text: string | undefined): void;
  /** A comment by someone other than the App, e.g. a slash-command. */
  addComment(repo: RepoRef, issueNumber: number, input: CommentInput): FakeComment;
  addDelivery(input: DeliveryInput): FakeDelivery;
  commentsOn(repo: RepoRef, issueNumber: number): FakeComment[];
  deploymentsOf(repo: RepoRef, environment?: string): FakeDeployment[];

  /** The next `times` (default 1) matching requests get `fault` instead of their normal answer. See `Fault`. */
  failNext(method: MethodPattern, path: PathPattern, fault: Fault, times?: number): void;
  /** Sets what is left of an installation's hourly limit (0: its next request gets GitHub's real 403). */
  setRateLimitRemaining(installationId: number, remaining: number): void;
  /** Makes every installation token issued so far answer 401 (as after expiry). */
  revokeTokens(): void;
  /** Waits for redeliveries still running through `onRedeliver`. */
  settled(): Promise<void>;
  /** Stops the server, then throws if any request was invalid against GitHub's OpenAPI description. */
  close(): Promise<void>;
}

const ROUTES = [...appRoutes, ...deliveryRoutes, ...repoRoutes, ...issueRoutes, ...deploymentRoutes];

export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const now = options.now ?? (() => new Date());
  const appId = Number(options.appId);
  const slug = options.appSlug ?? "ephemera";
  const state = new FakeState({ id: appId, slug, name: slug.charAt(0).toUpperCase() + slug.slice(1) }, now);
  const requests: RecordedRequest[] = [];
  const unexpected: RecordedRequest[] = [];
  const invalid: RecordedRequest[] = [];
  const faults = new Faults();
  const redeliveries = new Redeliveries(state, options.onRedeliver);

  // Listen first: the answers' URLs need the port.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const baseUrl = `http://${host}/api/v3`;
  const context: FakeContext = {
    state,
    render: new Renderer(state, baseUrl, `http://${host}`),
    auth: new Authenticator(String(appId), options.privateKeyPem, now),
    rateLimits: new RateLimits(options.rateLimit ?? 5000, now),
    redeliver: (delivery) => redeliveries.start(delivery),
  };
  server.on("request", createRequestHandler({ routes: ROUTES, context, faults, requests, unexpected, invalid }));

  const fake: FakeGitHub = {
    baseUrl,
    env: { GHE_HOST: host, GHE_PROTOCOL: "http" },
    requests,
    unexpected,
    invalid,
    state,
    bot: state.bot,
    requestsMatching: (method, path) => requests.filter(requestMatcher(method, path)),
    count: (method, path) => requests.filter(requestMatcher(method, path)).length,
    clearRequests() {
      requests.length = 0;
      unexpected.length = 0;
    },
    takeInvalid: () => invalid.splice(0),
    assertValidRequests() {
      const taken = invalid.splice(0);
      if (taken.length > 0) throw new Error(describeInvalidRequests(taken.map(({ method, path, query, openapi }) => ({ method, path: withQuery(path, query), check: openapi! }))));
    },
    addRepo: (input) => state.addRepo(input),
    renameRepo: (repo, newName) => state.renameRepo(repo, newName),
    setPull: (repo, input) => state.setPull(repo, input),
    setPermission: (repo, login, level) => state.setPermission(repo, login, level),
    setFile(repo, path, text) {
      const files = state.repo(repo).files;
      if (text === undefined) files.delete(path);
      else files.set(path, text);
    },
    addComment: (repo, issueNumber, input) => state.addComment(repo, issueNumber, input),
    addDelivery: (input) => state.addDelivery(input),
    commentsOn: (repo, issueNumber) => state.commentsOn(repo, issueNumber),
    deploymentsOf: (repo, environment) => state.deploymentsOf(repo, environment),
    failNext: (method, path, fault, times = 1) => faults.add(method, path, fault, times),
    setRateLimitRemaining: (installationId, remaining) => context.rateLimits.setRemaining(RateLimits.bucket({ kind: "installation", installationId }), remaining),
    revokeTokens: () => context.auth.revokeAll(),
    settled: () => redeliveries.settled(),
    async close() {
      // Redeliveries still running are not awaited: a hung onRedeliver must not hang the test's teardown.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      fake.assertValidRequests();
    },
  };
  return fake;
}

const withQuery = (path: string, query: Record<string, string>) => (Object.keys(query).length > 0 ? `${path}?${new URLSearchParams(query)}` : path);
