import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { checkGitHubRequest, type GitHubRequestCheck } from "../github-openapi.js";
import type { AuthKind } from "./auth.js";
import { insufficientAuth, type FakeContext } from "./context.js";
import { truncateReply, type Fault, type Faults } from "./faults.js";
import { RateLimits } from "./rate-limit.js";
import { errorBody, findRoute, HttpError, type Reply, type Route, type RouteRequest } from "./router.js";

/** One request as the fake saw it. */
export interface RecordedRequest {
  /** Arrival order, from 1. */
  seq: number;
  /** The fake's clock, as GitHub words it (seconds). */
  at: string;
  /** The wall clock at arrival, ms since the epoch: for timings finer than `at`. */
  receivedAtMs: number;
  method: string;
  /** Decoded path without `/api/v3` (a path outside `/api/v3` is kept whole, and is always unexpected). */
  path: string;
  /** The matched route in GitHub's spelling, e.g. `/repos/{owner}/{repo}/issues/{issue_number}/comments`. */
  route?: string;
  query: Record<string, string>;
  /** Parsed JSON, or the raw text of a non-JSON body; undefined when empty. */
  body: unknown;
  /** How the request authenticated: installation token, App JWT, nothing, or credentials GitHub would refuse. */
  auth: AuthKind;
  installationId?: number;
  accept: string;
  /** The status answered; 0 when a `connection-reset` fault hung up. */
  status: number;
  /** The injected fault that shaped the answer, if any. */
  fault?: Fault;
  /** Why GitHub's OpenAPI description rejects this request (absent when it is valid); see `github-openapi.ts`. */
  openapi?: GitHubRequestCheck;
}

export interface ServerDeps {
  routes: readonly Route[];
  context: FakeContext;
  faults: Faults;
  requests: RecordedRequest[];
  unexpected: RecordedRequest[];
  /** Requests that are not valid against GitHub's OpenAPI description. */
  invalid: RecordedRequest[];
}

const API_PREFIX = "/api/v3";

async function readBody(request: IncomingMessage): Promise<{ body: unknown; malformed: boolean }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return { body: undefined, malformed: false };
  if (!/json/i.test(request.headers["content-type"] ?? "")) return { body: text, malformed: false };
  try {
    return { body: JSON.parse(text), malformed: false };
  } catch {
    return { body: text, malformed: true };
  }
}

const decode = (path: string) => {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
};

/** The node:http request listener: records, applies faults and auth, counts the rate limit, runs the route, answers. */
export function createRequestHandler(deps: ServerDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const { context } = deps;
  let seq = 0;

  async function answer(record: RecordedRequest, routeRequest: RouteRequest, route: Route, malformed: boolean): Promise<Reply | "reset"> {
    const nowSeconds = Math.floor(context.state.now().getTime() / 1000);
    const injected = deps.faults.take(record, nowSeconds);
    if (injected) record.fault = injected.fault;
    if (injected?.action.kind === "reset") return "reset";
    if (injected?.action.kind === "replace") return injected.action.reply;
    const delay = injected?.action.kind === "delay" ? injected.action.ms : 0;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));

    const { caller } = routeRequest;
    if (caller.kind === "invalid") return new HttpError(401, caller.reason).reply();
    if (route.auth !== "any" && caller.kind !== route.auth) return insufficientAuth(routeRequest, route.auth).reply();
    if (malformed) return new HttpError(400, "Problems parsing JSON").reply();
    // GET /rate_limit is free on GitHub.
    if (route.template !== "/rate_limit" && !context.rateLimits.consume(RateLimits.bucket(caller))) {
      return new HttpError(403, "API rate limit exceeded").reply();
    }
    let reply: Reply;
    try {
      reply = await route.handle(routeRequest, context);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      reply = error.reply();
    }
    return injected?.action.kind === "truncate" ? truncateReply(reply, injected.action.keep) : reply;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake");
    const method = (request.method ?? "GET").toUpperCase();
    const { body, malformed } = await readBody(request);
    const caller = context.auth.identify(request.headers.authorization);
    const apiPath = url.pathname.startsWith(`${API_PREFIX}/`) ? url.pathname.slice(API_PREFIX.length) : undefined;
    const found = apiPath === undefined ? undefined : findRoute(deps.routes, method, apiPath);
    const record: RecordedRequest = {
      seq: ++seq,
      at: context.state.timestamp(),
      receivedAtMs: Date.now(),
      method,
      path: decode(apiPath ?? url.pathname),
      ...(found && { route: found.route.template }),
      query: Object.fromEntries(url.searchParams),
      body,
      auth: caller.kind,
      ...(caller.kind === "installation" && { installationId: caller.installationId }),
      accept: request.headers.accept ?? "",
      status: 0,
    };
    deps.requests.push(record);
    const check = checkGitHubRequest({ method, path: url.pathname + url.search, headers: request.headers, body });
    if (check.problems.length > 0) {
      record.openapi = check;
      deps.invalid.push(record);
    }

    let reply: Reply | "reset";
    if (!found) {
      deps.unexpected.push(record);
      // GitHub's body, plus a field that makes the miss obvious in the app's logs.
      reply = { status: 404, body: errorBody(404, "Not Found", { fake_github: `no route for ${method} ${record.path}` }) };
    } else {
      const routeRequest: RouteRequest = { method, path: record.path, params: found.params, query: record.query, body, accept: record.accept, caller };
      reply = await answer(record, routeRequest, found.route, malformed);
    }
    if (reply === "reset") {
      request.socket.destroy();
      return;
    }
    record.status = reply.status;
    const window = context.rateLimits.window(RateLimits.bucket(caller));
    response.writeHead(reply.status, {
      "content-type": "application/json; charset=utf-8",
      "x-github-media-type": "github.v3; format=json",
      "x-github-request-id": randomUUID(),
      ...RateLimits.headers(window),
      ...reply.headers,
    });
    if (reply.status === 204) response.end();
    else response.end(reply.text ?? JSON.stringify(reply.body ?? null));
  }

  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A bug in the fake, not GitHub behaviour: say so loudly in the answer and the test output.
      console.error("fake GitHub failed:", error);
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json; charset=utf-8" });
      response.end(JSON.stringify(errorBody(500, `fake GitHub bug: ${String(error)}`)));
    });
  };
}
