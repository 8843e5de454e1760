import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, expect } from "vitest";
import { checkGitHubRequest, describeInvalidRequests, type GitHubRequestCheck } from "./github-openapi.js";

/**
 * Scripted answers at GitHub's HTTP boundary (nock), for unit tests of one
 * GitHub call or ensure at a time, where each answer (a 404 between a read
 * and an edit, a second page) is the point of the test. Anything bigger
 * runs against the fake GitHub API (./fake-github.ts). Like the fake, every
 * request is checked against GitHub's OpenAPI description
 * (./github-openapi.ts), and the test fails on an invalid one.
 */

export const API = "https://api.github.com";
export const OWNER = "octo-org";
export const REPO = "shop";

/** Probot's Octokit as the app gets it, minus retry and throttling, which would only slow a test down. */
const TestOctokit = ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } });

export function testOctokit(): ProbotOctokit {
  return new TestOctokit({ auth: "test-token" });
}

/** Our app's bot, as GitHub shows it on what the bot wrote. */
export const OUR_BOT = { login: "ephemera[bot]", id: 4242, type: "Bot" } as const;
export const OTHER_BOT = { login: "other-app[bot]", id: 7, type: "Bot" } as const;
export const PERSON = { login: "mallory", id: 99, type: "User" } as const;

/** Requests the scripted answers took that GitHub's OpenAPI description rejects; each test fails on them after it ran. */
const invalid: Array<{ method: string; path: string; check: GitHubRequestCheck }> = [];

/**
 * Renovate's rule for HTTP mocks: a test fails on any request nothing
 * expected and on any expectation nothing used. Call at the top of a describe.
 */
export function strictGitHub(): void {
  const unexpected: string[] = [];
  const onNoMatch = (request: { method?: string; path?: string; href?: string }) => {
    unexpected.push(`${request.method} ${request.href ?? request.path}`);
  };
  beforeEach(() => {
    nock.disableNetConnect();
    nock.emitter.on("no match", onNoMatch);
  });
  afterEach(() => {
    nock.emitter.off("no match", onNoMatch);
    const unused = nock.pendingMocks();
    nock.cleanAll();
    nock.enableNetConnect();
    expect(unexpected.splice(0), "requests nothing expected").toEqual([]);
    expect(unused, "expected requests that never came").toEqual([]);
    const checked = invalid.splice(0);
    if (checked.length > 0) throw new Error(describeInvalidRequests(checked));
  });
}


/** The GitHub API, for one test's expectations; every request it answers is checked against GitHub's OpenAPI description. */
export function github(): nock.Scope {
  return nock(API).on("request", (request: { method: string; path: string; headers: Record<string, string> }, _interceptor: unknown, body: string) => {
    const json = /json/i.test(request.headers["content-type"] ?? "");
    const check = checkGitHubRequest({ method: request.method, path: request.path, headers: request.headers, body: body === "" ? undefined : json ? JSON.parse(body) : body });
    if (check.problems.length > 0) invalid.push({ method: request.method, path: request.path, check });
  });
}
