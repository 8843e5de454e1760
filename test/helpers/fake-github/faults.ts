import { errorBody, type Reply } from "./router.js";
import { requestMatcher, type Matchable, type MethodPattern, type PathPattern } from "./patterns.js";

/**
 * What `failNext` makes a request do instead of (or on top of) its normal answer:
 * - a status number: that status with GitHub's JSON message for it;
 * - `{ status, body?, headers? }`: exactly that;
 * - `{ rateLimit: "primary" }`: 403, `x-ratelimit-remaining: 0`, `x-ratelimit-reset`
 *   `resetInSeconds` (default 60) ahead. Probot's throttling (when enabled)
 *   waits for the reset and retries, so keep it short against the real server;
 * - `{ rateLimit: "secondary" }`: 403 with `retry-after: resetInSeconds`;
 * - `{ truncate: n }`: the real answer, its list cut to the first n items and
 *   its `link` header dropped (0: an empty list), as a partial or empty read;
 * - `"connection-reset"`: the socket is destroyed without an answer;
 * - `{ delayMs }`: the real answer, `delayMs` late (a slow GitHub).
 */
export type Fault =
  | number
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { rateLimit: "primary" | "secondary"; resetInSeconds?: number }
  | { truncate: number }
  | { delayMs: number }
  | "connection-reset";

/** What the server does with a fault: answer in place of the handler, post-process its answer, or hang up. */
export type FaultAction = { kind: "replace"; reply: Reply } | { kind: "truncate"; keep: number } | { kind: "delay"; ms: number } | { kind: "reset" };

const MESSAGES: Record<number, string> = {
  401: "Bad credentials",
  403: "Resource not accessible by integration",
  404: "Not Found",
  409: "Conflict",
  422: "Validation Failed",
  500: "Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

interface Rule {
  matches: (request: Matchable) => boolean;
  fault: Fault;
  remaining: number;
}

export class Faults {
  private readonly rules: Rule[] = [];

  add(method: MethodPattern, pattern: PathPattern, fault: Fault, times: number): void {
    if (!(times > 0)) throw new Error("fake GitHub: failNext needs times > 0");
    this.rules.push({ matches: requestMatcher(method, pattern), fault, remaining: times });
  }

  /** Consumes the first rule (oldest first) that matches, and says what to do. */
  take(request: Matchable, nowSeconds: number): { fault: Fault; action: FaultAction } | undefined {
    const rule = this.rules.find((candidate) => candidate.remaining > 0 && candidate.matches(request));
    if (!rule) return undefined;
    rule.remaining -= 1;
    return { fault: rule.fault, action: toAction(rule.fault, nowSeconds) };
  }
}

function toAction(fault: Fault, nowSeconds: number): FaultAction {
  if (fault === "connection-reset") return { kind: "reset" };
  if (typeof fault === "number") return { kind: "replace", reply: { status: fault, body: errorBody(fault, MESSAGES[fault] ?? "Error") } };
  if ("truncate" in fault) return { kind: "truncate", keep: fault.truncate };
  if ("delayMs" in fault) return { kind: "delay", ms: fault.delayMs };
  if ("rateLimit" in fault) {
    const wait = fault.resetInSeconds ?? 60;
    const reply: Reply =
      fault.rateLimit === "primary"
        ? {
            status: 403,
            body: errorBody(403, "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID."),
            headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(nowSeconds + wait) },
          }
        : {
            status: 403,
            body: errorBody(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."),
            headers: { "retry-after": String(wait) },
          };
    return { kind: "replace", reply };
  }
  return { kind: "replace", reply: { status: fault.status, body: fault.body ?? errorBody(fault.status, MESSAGES[fault.status] ?? "Error"), ...(fault.headers && { headers: fault.headers }) } };
}

/** Cuts a list answer: a bare array, or the one array in a `{ total_count, <items> }` envelope. */
export function truncateReply(reply: Reply, keep: number): Reply {
  const headers = { ...reply.headers };
  delete headers.link;
  if (Array.isArray(reply.body)) return { ...reply, headers, body: reply.body.slice(0, keep) };
  if (reply.body && typeof reply.body === "object") {
    const body = Object.fromEntries(Object.entries(reply.body).map(([key, value]) => [key, Array.isArray(value) ? value.slice(0, keep) : value]));
    return { ...reply, headers, body };
  }
  return { ...reply, headers };
}
