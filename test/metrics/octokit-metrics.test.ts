import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { describe, expect, it } from "vitest";
import { githubMetrics } from "../../src/metrics/octokit-metrics.js";
import { createMetrics, type Metrics } from "../../src/metrics/registry.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { github, OWNER, REPO, strictGitHub } from "../helpers/strict-github.js";
import { scrape, valueOf } from "./scrape.js";

const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const inSeconds = (seconds: number) => String(Math.floor(NOW / 1000) + seconds);

function rateLimit(remaining: number, resetIn: number, resource = "core") {
  return { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": String(remaining), "x-ratelimit-reset": inSeconds(resetIn), "x-ratelimit-resource": resource };
}

/** Probot's Octokit with the plugin, retry and throttling off (as in the other GitHub tests). */
function octokitWith(metrics: Metrics) {
  const Octokit = ProbotOctokit.plugin(githubMetrics(metrics)).defaults({ retry: { enabled: false }, throttle: { enabled: false } });
  return new Octokit({ auth: "test-token" });
}

describe("the GitHub metrics Octokit plugin", () => {
  strictGitHub();

  it("counts requests by method and status class, errors included, and passes each outcome on unchanged", async () => {
    const metrics = createMetrics({ now: () => NOW });
    const octokit = octokitWith(metrics);
    github().get(`/repos/${OWNER}/${REPO}`).reply(200, { id: 1 }, rateLimit(4990, 3000));
    github().get(`/repos/${OWNER}/${REPO}/pulls/7`).reply(404, { message: "Not Found" }, rateLimit(4989, 3000));
    github().post(`/repos/${OWNER}/${REPO}/issues/7/comments`).replyWithError("socket hang up");

    expect((await octokit.request("GET /repos/{owner}/{repo}", { owner: OWNER, repo: REPO })).data).toEqual({ id: 1 });
    await expect(octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { owner: OWNER, repo: REPO, pull_number: 7 })).rejects.toMatchObject({ status: 404 });
    await expect(octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", { owner: OWNER, repo: REPO, issue_number: 7, body: "hi" })).rejects.toThrow(
      "socket hang up",
    );

    const families = await scrape(metrics.registry);
    expect(valueOf(families, "ephemera_github_requests_total", { method: "GET", status: "2xx" })).toBe(1);
    expect(valueOf(families, "ephemera_github_requests_total", { method: "GET", status: "4xx" })).toBe(1);
    expect(valueOf(families, "ephemera_github_requests_total", { method: "POST", status: "error" })).toBe(1);
    expect(valueOf(families, "ephemera_github_rate_limit_remaining", { resource: "core" })).toBe(4989);
  });

  it("tells /readyz that GitHub is out of reach after a minute of failures (no answer, 5xx), and back at any answer below 500", async () => {
    let now = NOW;
    const metrics = createMetrics({ now: () => now });
    const octokit = octokitWith(metrics);
    const repo = () => octokit.request("GET /repos/{owner}/{repo}", { owner: OWNER, repo: REPO }).catch(() => undefined);
    github().get(`/repos/${OWNER}/${REPO}`).replyWithError("connect ECONNREFUSED");
    github().get(`/repos/${OWNER}/${REPO}`).reply(502, "bad gateway");
    github().get(`/repos/${OWNER}/${REPO}`).reply(404, { message: "Not Found" });
    await repo();
    now += 61_000;
    await repo();
    expect(metrics.githubReachability.unreachable()).toBe(true);
    await repo();
    expect(metrics.githubReachability.unreachable()).toBe(false);
  });

  it("shows the lowest budget of the current window per resource, and the limit once that window has reset", async () => {
    let now = NOW;
    const metrics = createMetrics({ now: () => now });
    const octokit = octokitWith(metrics);
    const repo = () => octokit.request("GET /repos/{owner}/{repo}", { owner: OWNER, repo: REPO });
    // Two installations: the one with less left is the one that runs out first.
    github().get(`/repos/${OWNER}/${REPO}`).reply(200, {}, rateLimit(120, 600));
    github().get(`/repos/${OWNER}/${REPO}`).reply(200, {}, rateLimit(4500, 3000));
    github().get("/search/issues").query(true).reply(200, { items: [] }, rateLimit(25, 40, "search"));
    await repo();
    await repo();
    await octokit.request("GET /search/issues", { q: "is:pr" });

    let families = await scrape(metrics.registry);
    expect(valueOf(families, "ephemera_github_rate_limit_remaining", { resource: "core" })).toBe(120);
    expect(valueOf(families, "ephemera_github_rate_limit_remaining", { resource: "search" })).toBe(25);

    now += 601_000;
    families = await scrape(metrics.registry);
    expect(valueOf(families, "ephemera_github_rate_limit_remaining", { resource: "core" })).toBe(5000);
    github().get(`/repos/${OWNER}/${REPO}`).reply(200, {}, rateLimit(4400, 2400));
    await repo();
    expect(valueOf(await scrape(metrics.registry), "ephemera_github_rate_limit_remaining", { resource: "core" })).toBe(4400);
  });

  it("installed as Probot's Octokit, keeps Probot's retry: a retried request counts once, with its final outcome", async () => {
    const metrics = createMetrics();
    const { APP_ID, PRIVATE_KEY } = testAppCredentials();
    const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, Octokit: ProbotOctokit.plugin(githubMetrics(metrics)), log: pino({ level: "silent" }) });
    github().get("/app").reply(502, "bad gateway");
    github().get("/app").reply(200, { slug: "ephemera" });

    const octokit = await probot.auth();
    expect((await octokit.request("GET /app")).data).toEqual({ slug: "ephemera" });

    const families = await scrape(metrics.registry);
    expect(valueOf(families, "ephemera_github_requests_total", { method: "GET", status: "2xx" })).toBe(1);
    expect(valueOf(families, "ephemera_github_requests_total", { method: "GET", status: "5xx" })).toBeUndefined();
  });
});
