import { setTimeout as sleep } from "node:timers/promises";
import type { Readiness } from "../config/template-schema.js";
import { describeFailure, isAbort } from "./errors.js";

/**
 * The readiness check (DESIGN §4): the environment is `ready`, and its URL
 * shown, only once it passes. An HTTP check passes on a 2xx answer (a 404 is
 * never ready); a `run` check when its command exits 0; with both, both must
 * pass in the same try. Tries repeat every `interval` until `timeout`, and the
 * last answer is what the PR shows when it never passed.
 */

export type ReadinessResult = { ready: true } | { ready: false; lastAnswer: string };

export interface ReadinessParams {
  readiness: Readiness;
  /** The environment's URL, for `{{url}}`. */
  url: string | undefined;
  /** Runs the `run` check once; throws (a `StepFailedError`) when it does not pass. */
  runCheck: (signal: AbortSignal) => Promise<void>;
  fetch: typeof fetch;
  signal: AbortSignal;
  now: () => number;
}

type Try = { passed: boolean; answer: string };

export async function awaitReadiness(params: ReadinessParams): Promise<ReadinessResult> {
  const { readiness, signal, now } = params;
  const target = readiness.url?.replaceAll("{{url}}", params.url ?? "");
  if (readiness.url?.includes("{{url}}") && params.url === undefined) {
    return { ready: false, lastAnswer: `the readiness URL ${readiness.url} needs {{url}}, but no step wrote a \`url\` output` };
  }
  const deadline = now() + readiness.timeoutMs;
  for (;;) {
    const perTry = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, Math.min(readiness.intervalMs, deadline - now())))]);
    const http: Try = target === undefined ? { passed: true, answer: "" } : await tryHttp(params.fetch, target, perTry, signal);
    const run: Try = readiness.run === undefined || !http.passed ? http : await tryRun(params.runCheck, perTry, signal);
    if (http.passed && run.passed) return { ready: true };
    const lastAnswer = http.passed ? run.answer : http.answer;
    if (now() + readiness.intervalMs > deadline) return { ready: false, lastAnswer };
    await sleep(readiness.intervalMs, undefined, { signal });
  }
}

async function tryHttp(fetcher: typeof fetch, url: string, perTry: AbortSignal, outer: AbortSignal): Promise<Try> {
  try {
    const response = await fetcher(url, { signal: perTry });
    await response.body?.cancel();
    const passed = response.status >= 200 && response.status < 300;
    return { passed, answer: `GET ${url} answered ${response.status} ${response.statusText}`.trimEnd() };
  } catch (error) {
    if (outer.aborted) throw error;
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    const message = perTry.aborted ? "no answer in time" : `${error instanceof Error ? error.message : String(error)}${cause}`;
    return { passed: false, answer: `GET ${url} failed: ${message}` };
  }
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
