import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, expect } from "vitest";

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
  });
}

/** The GitHub API, for one test's expectations. */
export function github(): nock.Scope {
  return nock(API);
}
