import { describe, expect, it } from "vitest";
import { ensureStickyComment, stickyMarker } from "../../src/github/ensure-comment.js";
import { GitHubGoneError } from "../../src/github/github-api.js";
import { API, github, OTHER_BOT, OUR_BOT, OWNER, PERSON, REPO, strictGitHub, testOctokit } from "../helpers/strict-github.js";

const PR = 42;
const MARKER = stickyMarker(PR);
const COMMENTS = `/repos/${OWNER}/${REPO}/issues/${PR}/comments`;
const comment = (id: number) => `/repos/${OWNER}/${REPO}/issues/comments/${id}`;
const ALL = { per_page: "100" };

const base = { octokit: testOctokit(), owner: OWNER, repo: REPO, issueNumber: PR, marker: MARKER };
const v1 = `${MARKER}\n**Preview** is provisioning`;
const v2 = `${MARKER}\n**Preview** is ready`;

describe("ensureStickyComment", () => {
  strictGitHub();

  it("creates the comment once, then writes nothing for the same body, then edits it in place", async () => {
    github().get(COMMENTS).query(ALL).reply(200, [{ id: 1, body: "LGTM", user: PERSON }]);
    github().post(COMMENTS, { body: v1 }).reply(201, { id: 500, body: v1, user: OUR_BOT });
    const created = await ensureStickyComment({ ...base, body: v1 });
    expect(created).toEqual({ commentId: 500, result: "created" });

    github().get(comment(500)).reply(200, { id: 500, body: v1, user: OUR_BOT });
    const unchanged = await ensureStickyComment({ ...base, body: v1, knownCommentId: 500 });
    expect(unchanged).toEqual({ commentId: 500, result: "unchanged" });

    github().get(comment(500)).reply(200, { id: 500, body: v1, user: OUR_BOT });
    github().patch(comment(500), { body: v2 }).reply(200, { id: 500, body: v2, user: OUR_BOT });
    const updated = await ensureStickyComment({ ...base, body: v2, knownCommentId: 500 });
    expect(updated).toEqual({ commentId: 500, result: "updated" });
  });

  it("puts the marker on the first line when the body lacks it, and never twice", async () => {
    github().get(COMMENTS).query(ALL).reply(200, []);
    github().post(COMMENTS, { body: v1 }).reply(201, { id: 501 });
    await ensureStickyComment({ ...base, body: "**Preview** is provisioning" });

    github().get(comment(501)).reply(200, { id: 501, body: v1, user: OUR_BOT });
    const again = await ensureStickyComment({ ...base, body: v1, knownCommentId: 501 });
    expect(again.result).toBe("unchanged");
  });

  it("finds its comment by the marker when no id is recorded, and makes no write when it already reads right", async () => {
    github().get(COMMENTS).query(ALL).reply(200, [{ id: 7, body: v1, user: OUR_BOT }]);
    expect(await ensureStickyComment({ ...base, body: v1 })).toEqual({ commentId: 7, result: "unchanged" });
  });

  it("searches and recreates when the recorded comment was deleted", async () => {
    github().get(comment(500)).reply(404, { message: "Not Found" });
    github().get(COMMENTS).query(ALL).reply(200, [{ id: 1, body: "nice", user: PERSON }]);
    github().post(COMMENTS, { body: v2 }).reply(201, { id: 600 });
    expect(await ensureStickyComment({ ...base, body: v2, knownCommentId: 500 })).toEqual({ commentId: 600, result: "created" });
  });

  it("searches when the recorded comment is deleted between reading and editing it", async () => {
    github().get(comment(500)).reply(200, { id: 500, body: v1, user: OUR_BOT });
    github().patch(comment(500), { body: v2 }).reply(404, { message: "Not Found" });
    github().get(COMMENTS).query(ALL).reply(200, []);
    github().post(COMMENTS, { body: v2 }).reply(201, { id: 601 });
    expect(await ensureStickyComment({ ...base, body: v2, knownCommentId: 500 })).toEqual({ commentId: 601, result: "created" });
  });

  it("reuses the newest of its marked comments across pages", async () => {
    const page2 = `${API}/repositories/1/issues/${PR}/comments?per_page=100&page=2`;
    github()
      .get(COMMENTS)
      .query(ALL)
      .reply(200, [{ id: 10, body: v1, user: OUR_BOT }], { link: `<${page2}>; rel="next", <${page2}>; rel="last"` });
    github()
      .get(`/repositories/1/issues/${PR}/comments`)
      .query({ per_page: "100", page: "2" })
      .reply(200, [
        { id: 20, body: v1, user: OUR_BOT },
        { id: 30, body: "unrelated", user: OUR_BOT },
      ]);
    github().patch(comment(20), { body: v2 }).reply(200, { id: 20 });
    expect(await ensureStickyComment({ ...base, body: v2 })).toEqual({ commentId: 20, result: "updated" });
  });

  it("never edits a person's comment that carries our marker", async () => {
    github()
      .get(COMMENTS)
      .query(ALL)
      .reply(200, [{ id: 3, body: `${MARKER}\nforged`, user: PERSON }]);
    github().post(COMMENTS, { body: v1 }).reply(201, { id: 502 });
    expect(await ensureStickyComment({ ...base, body: v1 })).toEqual({ commentId: 502, result: "created" });
  });

  it("never edits a person's comment even when its id is the one recorded", async () => {
    github().get(comment(3)).reply(200, { id: 3, body: `${MARKER}\nforged`, user: PERSON });
    github().get(COMMENTS).query(ALL).reply(200, []);
    github().post(COMMENTS, { body: v1 }).reply(201, { id: 503 });
    expect(await ensureStickyComment({ ...base, body: v1, knownCommentId: 3 })).toEqual({ commentId: 503, result: "created" });
  });

  it("trusts only our own bot when it knows who that is", async () => {
    github()
      .get(COMMENTS)
      .query(ALL)
      .reply(200, [
        { id: 4, body: v1, user: OTHER_BOT },
        { id: 5, body: `${MARKER}\nold`, user: OUR_BOT },
      ]);
    github().patch(comment(5), { body: v1 }).reply(200, { id: 5 });
    const result = await ensureStickyComment({ ...base, body: v1, botLogin: OUR_BOT.login, botUserId: OUR_BOT.id });
    expect(result).toEqual({ commentId: 5, result: "updated" });
  });

  it.each([404, 410])("reports a PR that GitHub answers %i for as gone", async (status) => {
    github().get(COMMENTS).query(ALL).reply(status, { message: "Gone" });
    const failure = ensureStickyComment({ ...base, body: v1 });
    await expect(failure).rejects.toBeInstanceOf(GitHubGoneError);
    await expect(failure).rejects.toMatchObject({ kind: "issue", resource: `${OWNER}/${REPO}#${PR}`, status });
  });

  it("reports a PR deleted just before the comment is created as gone", async () => {
    github().get(COMMENTS).query(ALL).reply(200, []);
    github().post(COMMENTS, { body: v1 }).reply(410, { message: "Gone" });
    await expect(ensureStickyComment({ ...base, body: v1 })).rejects.toMatchObject({ name: "GitHubGoneError", status: 410 });
  });

  it("lets other errors propagate", async () => {
    github().get(COMMENTS).query(ALL).reply(403, { message: "Resource not accessible by integration" });
    const failure = ensureStickyComment({ ...base, body: v1 });
    await expect(failure).rejects.toMatchObject({ status: 403 });
    await expect(failure).rejects.not.toBeInstanceOf(GitHubGoneError);
  });
});
