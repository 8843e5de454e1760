import { createHash } from "node:crypto";
import { accessibleRepo, existingPull } from "../context.js";
import type { FakeRepo, PermissionLevel } from "../model.js";
import { pageReply } from "../paginate.js";
import { HttpError, idParam, notFound, route, type Reply, type RouteRequest } from "../router.js";
import type { Renderer } from "../render.js";
import { renderPull } from "../render-pull.js";

// Repositories, pull requests, collaborator permissions and file contents.

/** GitHub's coarse `permission` for a role: maintain counts as write, triage as read; `role_name` keeps the role. */
const COARSE: Record<PermissionLevel, string> = { admin: "admin", maintain: "write", write: "write", triage: "read", read: "read", none: "none" };

const gitBlobSha = (text: string) => createHash("sha1").update(`blob ${Buffer.byteLength(text)}\0${text}`).digest("hex");

/**
 * `GET contents/{path}`. Octokit's `mediaType: { format: "raw" }` (what
 * @probot/octokit-plugin-config sends for `context.config`) asks with
 * `Accept: application/vnd.github.v3.raw`: the file comes back as text with a
 * non-JSON content type. The plugin treats exactly `application/json;
 * charset=utf-8` as "a directory, not a file", and Octokit only decodes a
 * body as text for `text/*` or `charset=utf-8`, hence `text/plain; charset=utf-8`.
 * Without the raw media type the answer is GitHub's JSON with base64 content.
 */
function contents(repo: FakeRepo, path: string, request: RouteRequest, render: Renderer): Reply {
  const ref = request.query.ref;
  // The fake keeps only the default branch; reading another ref is a test failure waiting to be noticed.
  if (ref !== undefined && ref !== repo.defaultBranch && ref !== repo.defaultBranchSha) throw new HttpError(404, `No commit found for the ref ${ref}`);
  const entry = (entryPath: string, type: "file" | "dir") => {
    const text = repo.files.get(entryPath) ?? "";
    const url = `${render.api}/repos/${repo.fullName}/contents/${entryPath}?ref=${repo.defaultBranch}`;
    return {
      type,
      name: entryPath.split("/").at(-1)!,
      path: entryPath,
      sha: gitBlobSha(type === "file" ? text : entryPath),
      size: type === "file" ? Buffer.byteLength(text) : 0,
      url,
      html_url: `${render.web}/${repo.fullName}/${type === "file" ? "blob" : "tree"}/${repo.defaultBranch}/${entryPath}`,
      git_url: `${render.api}/repos/${repo.fullName}/git/${type === "file" ? "blobs" : "trees"}/${gitBlobSha(text)}`,
      download_url: type === "file" ? `${render.web}/raw/${repo.fullName}/${repo.defaultBranch}/${entryPath}` : null,
      _links: { self: url, git: `${render.api}/repos/${repo.fullName}/git/blobs/${gitBlobSha(text)}`, html: `${render.web}/${repo.fullName}/blob/${repo.defaultBranch}/${entryPath}` },
    };
  };
  const text = repo.files.get(path);
  if (text !== undefined) {
    if (/application\/vnd\.github(\.v3)?\.raw/.test(request.accept)) {
      return { status: 200, text, headers: { "content-type": "text/plain; charset=utf-8", "x-github-media-type": "github.v3; param=raw" } };
    }
    const content = Buffer.from(text).toString("base64").replace(/.{60}/g, "$&\n");
    return { status: 200, body: { ...entry(path, "file"), encoding: "base64", content } };
  }
  const children = new Map<string, "file" | "dir">();
  for (const filePath of repo.files.keys()) {
    if (!filePath.startsWith(`${path}/`)) continue;
    const [name, ...deeper] = filePath.slice(path.length + 1).split("/");
    children.set(`${path}/${name}`, deeper.length ? "dir" : "file");
  }
  if (children.size === 0) throw notFound();
  return { status: 200, body: [...children].map(([childPath, type]) => entry(childPath, type)) };
}

export const repoRoutes = [
  route("GET /repos/{owner}/{repo}", "installation", (request, context) => ({ status: 200, body: context.render.repository(accessibleRepo(request, context)) })),

  route("GET /repositories/{repository_id}", "installation", (request, context) => {
    const repo = context.state.repoById(idParam(request, "repository_id"));
    if (!repo) throw notFound();
    return { status: 200, body: context.render.repository(accessibleRepo({ ...request, params: { owner: repo.owner.login, repo: repo.name } }, context)) };
  }),

  route("GET /repos/{owner}/{repo}/pulls", "installation", (request, context) => {
    const repo = accessibleRepo(request, context);
    const { state = "open", head, base, sort = "created" } = request.query;
    const direction = request.query.direction ?? (sort === "created" ? "desc" : "asc");
    const pulls = [...repo.pulls.values()]
      .filter((pull) => state === "all" || pull.state === state)
      .filter((pull) => head === undefined || `${pull.head.repo.owner.login}:${pull.head.ref}` === head)
      .filter((pull) => base === undefined || pull.base.ref === base)
      .sort((a, b) => (sort === "updated" ? a.updated_at.localeCompare(b.updated_at) || a.number - b.number : a.number - b.number));
    if (direction === "desc") pulls.reverse();
    return pageReply(context.render.api, request, pulls.map((pull) => renderPull(context.render, repo, pull, false)));
  }),

  route("GET /repos/{owner}/{repo}/pulls/{pull_number}", "installation", (request, context) => {
    const repo = accessibleRepo(request, context);
    return { status: 200, body: renderPull(context.render, repo, existingPull(repo, request.params.pull_number), true) };
  }),

  route("GET /repos/{owner}/{repo}/collaborators/{username}/permission", "installation", (request, context) => {
    const repo = accessibleRepo(request, context);
    const login = request.params.username!;
    const role = repo.permissions.get(login.toLowerCase());
    if (role === undefined) throw new HttpError(404, `${login} is not a user`);
    const user = context.state.actor(login);
    return { status: 200, body: { permission: COARSE[role], role_name: role, user: context.render.collaborator(user, role) } };
  }),

  route("GET /repos/{owner}/{repo}/contents/{path*}", "installation", (request, context) =>
    contents(accessibleRepo(request, context), request.params.path!, request, context.render),
  ),
];
