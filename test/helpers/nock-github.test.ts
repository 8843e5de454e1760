import { Octokit } from "@octokit/rest";
import { afterEach, describe, expect, it } from "vitest";
import { NockGitHub } from "./nock-github.js";

const repo = { owner: "octo", name: "shop", installationId: 77, pr: 42, permissions: {} };
const octokit = new Octokit({ baseUrl: "https://github.test/api/v3", auth: "ghs_nocktoken" });

let gh: NockGitHub | undefined;
afterEach(() => {
  gh?.dispose();
  gh = undefined;
});

describe("NockGitHub checks requests against GitHub's OpenAPI description", () => {
  it("passes a valid request", async () => {
    gh = new NockGitHub(repo);
    await octokit.rest.repos.createDeployment({ owner: "octo", repo: "shop", ref: "a".repeat(40), environment: "pr-42", auto_merge: false, required_contexts: [] });
    expect(gh.invalid).toEqual([]);
  });

  it("answers an invalid one as usual, then fails dispose() naming the operation and each problem", async () => {
    const nockGitHub = new NockGitHub(repo);
    const created = await octokit.request("POST /repos/{owner}/{repo}/deployments", { owner: "octo", repo: "shop", ref: "main", auto_merge: "no" as unknown as boolean });
    expect(created.status).toBe(201);
    expect(nockGitHub.invalid).toEqual([
      { method: "POST", path: "/repos/octo/shop/deployments", check: expect.objectContaining({ problems: ["body.auto_merge must be boolean"] }) },
    ]);
    expect(() => nockGitHub.dispose()).toThrow(
      "POST /repos/octo/shop/deployments (repos/create-deployment, /repos/{owner}/{repo}/deployments):\n  - body.auto_merge must be boolean",
    );
  });
});
