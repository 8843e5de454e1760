import { createHash } from "node:crypto";
import type { FakeActor, FakePull, FakeRepo } from "./model.js";
import { nodeId, type Renderer } from "./render.js";

// Pull requests in GitHub's shape. Not typed against the OpenAPI schema (it
// asks for ~30 fields, each `head.repo` a full repository): it carries what
// Octokit, Probot and Ephemera read.

/** `detail`: `GET /pulls/{n}` adds fields the list leaves out (`merged`, `mergeable`, counts). */
export function renderPull(render: Renderer, repo: FakeRepo, pull: FakePull, detail: boolean) {
  const { api, web } = render;
  const url = `${api}/repos/${repo.fullName}/pulls/${pull.number}`;
  const html = `${web}/${repo.fullName}/pull/${pull.number}`;
  const headRepo = pull.head.repo.id === repo.id ? render.repository(repo) : forkRepository(render, pull.head.repo);
  const branch = (side: { ref: string; sha: string }, owner: FakeActor, repository: object) => ({
    label: `${owner.login}:${side.ref}`,
    ref: side.ref,
    sha: side.sha,
    user: render.user(owner),
    repo: repository,
  });
  return {
    url,
    id: pull.id,
    node_id: nodeId("PullRequest", pull.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/repos/${repo.fullName}/issues/${pull.number}`,
    comments_url: `${api}/repos/${repo.fullName}/issues/${pull.number}/comments`,
    statuses_url: `${api}/repos/${repo.fullName}/statuses/${pull.head.sha}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    user: render.user(pull.user),
    body: pull.body,
    labels: pull.labels.map((name) => label(render, repo, name)),
    milestone: null,
    active_lock_reason: null,
    created_at: pull.created_at,
    updated_at: pull.updated_at,
    closed_at: pull.closed_at,
    merged_at: pull.merged_at,
    merge_commit_sha: pull.merged ? createHash("sha1").update(`merge:${pull.id}`).digest("hex") : null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branch(pull.head, pull.head.repo.owner, headRepo),
    base: branch(pull.base, repo.owner, render.repository(repo)),
    author_association: "CONTRIBUTOR",
    auto_merge: null,
    draft: pull.draft,
    ...(detail && {
      merged: pull.merged,
      mergeable: pull.state === "open" ? true : null,
      mergeable_state: pull.state === "open" ? "clean" : "unknown",
      merged_by: null,
      comments: render.state.comments.filter((comment) => comment.repoId === repo.id && comment.issueNumber === pull.number && !comment.deleted).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 1,
      deletions: 0,
      changed_files: 1,
    }),
  };
}

function label(render: Renderer, repo: FakeRepo, name: string) {
  // Labels are only names in the model; a hash gives each a stable id.
  const id = Number.parseInt(createHash("sha1").update(`${repo.id}:${name}`).digest("hex").slice(0, 8), 16);
  const url = `${render.api}/repos/${repo.fullName}/labels/${encodeURIComponent(name)}`;
  return { id, node_id: nodeId("Label", id), url, name, color: "ededed", default: false, description: null };
}

/** A fork is no registered repository: enough of one for `head.repo` (`fork: true`, its owner). */
function forkRepository(render: Renderer, fork: FakePull["head"]["repo"]) {
  const [, name = fork.fullName] = fork.fullName.split("/");
  return {
    id: fork.id,
    node_id: nodeId("Repository", fork.id),
    name,
    full_name: fork.fullName,
    private: false,
    owner: render.user(fork.owner),
    html_url: `${render.web}/${fork.fullName}`,
    url: `${render.api}/repos/${fork.fullName}`,
    fork: true,
  };
}
