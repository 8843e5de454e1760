import type { Caller } from "./auth.js";
import type { FakeContext } from "./context.js";

/** What a route handler answers; the server adds rate-limit headers and serialises `body` as JSON (or sends `text` as is). */
export interface Reply {
  status: number;
  body?: unknown;
  /** A non-JSON body (raw file content); `headers` must then carry its content type. */
  text?: string;
  headers?: Record<string, string>;
}

export interface RouteRequest {
  method: string;
  /** Decoded path without the `/api/v3` prefix. */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  accept: string;
  caller: Caller;
}

/**
 * Who may call a route: `app` needs an App JWT, `installation` an installation
 * token (repository routes also check the token's installation owns the
 * repository), `any` takes whatever comes, anonymous included.
 */
export type RouteAuth = "app" | "installation" | "any";

export interface Route {
  method: string;
  /** GitHub's own spelling of the route, e.g. `/repos/{owner}/{repo}/pulls/{pull_number}`; recorded on each request. */
  template: string;
  auth: RouteAuth;
  handle(request: RouteRequest, context: FakeContext): Reply | Promise<Reply>;
  match(segments: string[]): Record<string, string> | undefined;
}

/** A status with GitHub's JSON error body; thrown from handlers and turned into the reply by the server. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  reply(): Reply {
    return { status: this.status, body: errorBody(this.status, this.message, this.extra) };
  }
}

export function errorBody(status: number, message: string, extra: Record<string, unknown> = {}) {
  return { message, documentation_url: "https://docs.github.com/rest", status: String(status), ...extra };
}

export const notFound = () => new HttpError(404, "Not Found");

/** 422 as GitHub words a missing or bad body field. */
export function invalidField(resource: string, field: string, code: "missing_field" | "invalid" = "invalid"): HttpError {
  return new HttpError(422, "Validation Failed", { errors: [{ resource, field, code }] });
}

/**
 * `route("GET /repos/{owner}/{repo}", "installation", handler)`. A parameter
 * spelled `{name*}` takes the rest of the path, slashes included: Octokit
 * sends `contents/{path}` with `/` encoded as `%2F`, other clients do not.
 */
export function route(spec: string, auth: RouteAuth, handle: Route["handle"]): Route {
  const [method, template] = spec.split(" ") as [string, string];
  const parts = template.split("/").slice(1);
  return {
    method,
    template: template.replace(/\*}/g, "}"),
    auth,
    handle,
    match(segments) {
      const params: Record<string, string> = {};
      for (const [index, part] of parts.entries()) {
        const name = /^{(\w+)(\*?)}$/.exec(part);
        if (name?.[2]) {
          const rest = segments.slice(index);
          if (rest.length === 0) return undefined;
          params[name[1]!] = rest.map(decodeURIComponent).join("/");
          return params;
        }
        const segment = segments[index];
        if (segment === undefined || segment === "") return undefined;
        if (name) params[name[1]!] = decodeURIComponent(segment);
        else if (segment !== part) return undefined;
      }
      return segments.length === parts.length ? params : undefined;
    },
  };
}

export function findRoute(routes: readonly Route[], method: string, rawPath: string) {
  const segments = rawPath.split("/").slice(1);
  for (const candidate of routes) {
    if (candidate.method !== method) continue;
    const params = candidate.match(segments);
    if (params) return { route: candidate, params };
  }
  return undefined;
}

/** The request body as an object, or GitHub's 400 for anything else. */
export function objectBody(request: RouteRequest): Record<string, unknown> {
  const { body } = request;
  if (body === undefined || body === "") return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "Problems parsing JSON");
  return body as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, resource: string, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidField(resource, field);
  return value;
}

export function requiredString(body: Record<string, unknown>, resource: string, field: string): string {
  const value = stringField(body, resource, field);
  if (value === undefined) throw invalidField(resource, field, "missing_field");
  return value;
}

export function booleanField(body: Record<string, unknown>, resource: string, field: string, fallback: boolean): boolean {
  const value = body[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") throw invalidField(resource, field);
  return value;
}

/** A positive integer path parameter; anything else cannot name a resource, so 404 like GitHub. */
export function idParam(request: RouteRequest, name: string): number {
  const value = Number(request.params[name]);
  if (!Number.isSafeInteger(value) || value <= 0) throw notFound();
  return value;
}
