import { accessibleRepo, existingPull, type FakeContext } from "../context.js";
import type { FakeComment, FakeRepo } from "../model.js";
import { REACTIONS, type ReactionContent } from "../model.js";
import { pageReply } from "../paginate.js";
import { idParam, invalidField, notFound, objectBody, requiredString, route, type RouteRequest } from "../router.js";

// Issue comments (the sticky status comment, replies, slash-commands) and
// their reactions. A request with an installation token acts as the App's
// bot user, so the App's comments come out as `<slug>[bot]`, type Bot.

function liveComment(request: RouteRequest, context: FakeContext): { repo: FakeRepo; comment: FakeComment } {
  const repo = accessibleRepo(request, context);
  const id = idParam(request, "comment_id");
  const comment = context.state.comments.find((candidate) => candidate.id === id && candidate.repoId === repo.id && !candidate.deleted);
  if (!comment) throw notFound();
  return { repo, comment };
}

export const issueRoutes = [
  route("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", "installation", (request, context) => {
    const repo = accessibleRepo(request, context);
    const pull = existingPull(repo, request.params.issue_number);
    const since = request.query.since;
    const comments = context.state.comments.filter(
      (comment) => comment.repoId === repo.id && comment.issueNumber === pull.number && !comment.deleted && (since === undefined || comment.updated_at >= since),
    );
    return pageReply(context.render.api, request, comments.map((comment) => context.render.comment(repo, comment)));
  }),

  route("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", "installation", (request, context) => {
    const repo = accessibleRepo(request, context);
    const pull = existingPull(repo, request.params.issue_number);
    const body = requiredString(objectBody(request), "IssueComment", "body");
    const comment = context.state.createComment(repo, pull.number, body, context.state.bot, "NONE");
    return { status: 201, body: context.render.comment(repo, comment), headers: { location: `${context.render.api}/repos/${repo.fullName}/issues/comments/${comment.id}` } };
  }),

  route("GET /repos/{owner}/{repo}/issues/comments/{comment_id}", "installation", (request, context) => {
    const { repo, comment } = liveComment(request, context);
    return { status: 200, body: context.render.comment(repo, comment) };
  }),

  route("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", "installation", (request, context) => {
    const { repo, comment } = liveComment(request, context);
    comment.body = requiredString(objectBody(request), "IssueComment", "body");
    comment.updated_at = context.state.timestamp();
    return { status: 200, body: context.render.comment(repo, comment) };
  }),

  route("DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}", "installation", (request, context) => {
    liveComment(request, context).comment.deleted = true;
    return { status: 204 };
  }),

  route("GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "installation", (request, context) => {
    const { comment } = liveComment(request, context);
    const reactions = context.state.reactionsOn(comment.id).filter((reaction) => request.query.content === undefined || reaction.content === request.query.content);
    return pageReply(context.render.api, request, reactions.map((reaction) => context.render.reaction(reaction)));
  }),

  // 201 for a new reaction; 200 with the existing one when this user already reacted so.
  route("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "installation", (request, context) => {
    const { comment } = liveComment(request, context);
    const content = requiredString(objectBody(request), "Reaction", "content");
    if (!(REACTIONS as readonly string[]).includes(content)) throw invalidField("Reaction", "content");
    const user = context.state.bot;
    const existing = context.state.reactionsOn(comment.id).find((reaction) => reaction.content === content && reaction.user.id === user.id);
    if (existing) return { status: 200, body: context.render.reaction(existing) };
    const reaction = { id: context.state.nextId(), commentId: comment.id, content: content as ReactionContent, user, created_at: context.state.timestamp() };
    context.state.reactions.push(reaction);
    return { status: 201, body: context.render.reaction(reaction) };
  }),
];
