import { setTimeout as sleep } from "node:timers/promises";
import type { Readiness } from "../config/template-schema.js";
import { describeFailure, isAbort } from "./errors.js";
import { RefusedAddressError, type ReadinessProbe } from "./readiness-probe.js";

/**
 * The readiness check (DESIGN §4): the environment is `ready`, and its URL
 * shown, only once it passes. An HTTP check passes on a 2xx answer (a 404 is
 * never ready); a `run` check when its command exits 0; with both, both must
 * pass in the same try. Tries repeat every `interval` until `timeout`, and the
 * last answer is what the PR shows when it never passed.
 *
 * The URL is checked once filled in (http or https, a host, no credentials),
 * redirects are followed only to the same host, a few at most, and the probe
 * refuses link-local and metadata addresses (see readiness-probe.ts). What
 * the PR shows is the class of the outcome only ("HTTP 404", "connection
 * refused"): never an address, a host's name or a body, which would make the
 * check a way to look into the network the app runs in.
 */

export type ReadinessResult = { ready: true } | { ready: false; lastAnswer: string };

export interface ReadinessParams {
  readiness: Readiness;
  /** The environment's URL, for `{{url}}`. */
  url: string | undefined;
  /** Runs the `run` check once; throws (a `StepFailedError`) when it does not pass. */
  runCheck: (signal: AbortSignal) => Promise<void>;
  /** One GET, no redirect followed. */
  probe: ReadinessProbe;
  signal: AbortSignal;
  now: () => number;
}

type Try = { passed: boolean; answer: string };

/** Redirects followed in one try, each to the same host. */
const MAX_REDIRECTS = 5;
const NOT_PASSED = "readiness check did not pass";

export async function awaitReadiness(params: ReadinessParams): Promise<ReadinessResult> {
  const { readiness, signal, now } = params;
  if (readiness.url?.includes("{{url}}") && params.url === undefined) {
    return { ready: false, lastAnswer: "the readiness URL needs {{url}}, but no step wrote a `url` output" };
  }
  const filled = readiness.url?.replaceAll("{{url}}", params.url ?? "");
  const target = filled === undefined ? undefined : checkedUrl(filled);
  if (target === null) return { ready: false, lastAnswer: `${NOT_PASSED}: the URL is not http(s) with a host and without credentials` };
  const deadline = now() + readiness.timeoutMs;
  for (;;) {
    const perTry = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, Math.min(readiness.intervalMs, deadline - now())))]);
    const http: Try = target === undefined ? { passed: true, answer: "" } : await tryHttp(params.probe, target, perTry, signal);
    const run: Try = readiness.run === undefined || !http.passed ? http : await tryRun(params.runCheck, perTry, signal);
    if (http.passed && run.passed) return { ready: true };
    const lastAnswer = http.passed ? run.answer : http.answer;
    if (now() + readiness.intervalMs > deadline) return { ready: false, lastAnswer };
    await sleep(readiness.intervalMs, undefined, { signal });
  }
}

/** The URL when a readiness check may GET it: http(s), a host, no credentials; null otherwise. */
function checkedUrl(text: string, base?: URL): URL | null {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    return null;
  }
  const allowed = (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "" && url.username === "" && url.password === "";
  return allowed ? url : null;
}

async function tryHttp(probe: ReadinessProbe, target: URL, perTry: AbortSignal, outer: AbortSignal): Promise<Try> {
  let url = target;
  try {
    for (let redirects = 0; ; redirects++) {
      const { status, location } = await probe(url, perTry);
      if (status < 300 || status >= 400 || location === undefined) return { passed: status >= 200 && status < 300, answer: `${NOT_PASSED}: HTTP ${status}` };
      if (redirects === MAX_REDIRECTS) return { passed: false, answer: `${NOT_PASSED}: more than ${MAX_REDIRECTS} redirects` };
      const next = checkedUrl(location, url);
      if (next === null || next.hostname !== target.hostname) return { passed: false, answer: `${NOT_PASSED}: redirect to another host (HTTP ${status})` };
      url = next;
    }
  } catch (error) {
    if (outer.aborted) throw error;
    return { passed: false, answer: `${NOT_PASSED}: ${perTry.aborted ? "no answer in time" : failureClass(error)}` };
  }
}

/** What a failed GET may show on the PR: the kind of failure, from its error code, and nothing else. */
function failureClass(error: unknown): string {
  if (error instanceof RefusedAddressError) return error.message;
  const code = typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : "";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "ECONNRESET" || code === "EPIPE" || code === "HPE_INVALID_CONSTANT") return "connection closed without an answer";
  if (code === "ETIMEDOUT" || code === "EHOSTUNREACH" || code === "ENETUNREACH") return "host unreachable";
  if (/CERT|TLS|SSL/u.test(code)) return "TLS handshake failed";
  return "request failed";
}

async function tryRun(runCheck: (signal: AbortSignal) => Promise<void>, perTry: AbortSignal, outer: AbortSignal): Promise<Try> {
  try {
    await runCheck(perTry);
    return { passed: true, answer: "" };
  } catch (error) {
    if (outer.aborted || (isAbort(error) && !perTry.aborted)) throw error;
    return { passed: false, answer: perTry.aborted ? "the readiness command did not finish in time" : describeFailure(error).message };
  }
}
