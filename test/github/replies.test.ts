import { describe, expect, it } from "vitest";
import { GitHubGoneError } from "../../src/github/github-api.js";
import { react, reply } from "../../src/github/replies.js";
import { github, OWNER, REPO, strictGitHub, testOctokit } from "../helpers/strict-github.js";

const target = { octokit: testOctokit(), owner: OWNER, repo: REPO };
const reactions = (id: number) => `/repos/${OWNER}/${REPO}/issues/comments/${id}/reactions`;

describe("reply", () => {
  strictGitHub();

  it("posts a new comment on the PR", async () => {
    const body = "You need write access to run `/preview destroy`.";
    github().post(`/repos/${OWNER}/${REPO}/issues/42/comments`, { body }).reply(201, { id: 700, body });
    expect(await reply({ ...target, issueNumber: 42, body })).toEqual({ commentId: 700 });
  });

  it("reports a deleted PR as gone", async () => {
    github().post(`/repos/${OWNER}/${REPO}/issues/42/comments`).reply(410, { message: "Gone" });
    await expect(reply({ ...target, issueNumber: 42, body: "hi" })).rejects.toMatchObject({ kind: "issue", status: 410 });
  });
});

describe("react", () => {
  strictGitHub();

  it.each(["+1", "confused"] as const)("adds %s to the command comment", async (content) => {
    github().post(reactions(555), { content }).reply(201, { id: 1, content });
    await react({ ...target, commentId: 555, content });
  });

  it("treats a reaction that already exists as done", async () => {
    github().post(reactions(555), { content: "+1" }).reply(200, { id: 1, content: "+1" });
    await react({ ...target, commentId: 555, content: "+1" });
  });

  it("reports a deleted command comment as gone", async () => {
    github().post(reactions(555)).reply(404, { message: "Not Found" });
    const failure = react({ ...target, commentId: 555, content: "confused" });
    await expect(failure).rejects.toBeInstanceOf(GitHubGoneError);
    await expect(failure).rejects.toMatchObject({ kind: "comment" });
  });
});
