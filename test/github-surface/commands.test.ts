import { describe, expect, it } from "vitest";
import { examplePayload } from "../helpers/webhooks.js";
import { prCommentEvent } from "../helpers/pr-events.js";
import type { PrHandle } from "./pr-handle.js";
import { DEPLOY_STEP, sha, useSurfaceWorld } from "./surface-world.js";

/**
 * Slash-commands as people type them (DESIGN §6): who may extend, by how
 * much, what a typo gets, and which comments are not commands at all. A
 * command is recorded while its webhook is handled and carried out by a
 * worker after the delivery is answered (`pr.comment` waits for that): the
 * permission check, the reaction and the reply never hold up a delivery.
 */

const HOUR = 3_600_000;
const shop = { name: "shop", id: 6101 };
const world = useSurfaceWorld({
  operator: { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [DEPLOY_STEP] } } },
  repos: [shop],
  permissions: { maintainer: "write", visitor: "read" },
});

async function readyPr(number: number): Promise<PrHandle> {
  const pr = world.pr(shop, number);
  await pr.event("opened", sha(number));
  await pr.waitForShown("ready");
  return pr;
}

describe("slash-commands", () => {
  it("/preview extend 2h from a user with read permission is refused with a reply, and nothing changes", async () => {
    const pr = await readyPr(1);
    const before = await pr.snapshot();

    const command = await pr.comment("/preview extend 2h", "visitor");

    expect(pr.reactionsOn(command)).toEqual(["confused"]);
    expect(pr.replies().map((reply) => reply.body)).toEqual([
      "⚠️ `/preview extend` needs write access to this repository (write, maintain or admin).",
    ]);
    const after = await pr.snapshot();
    expect(after?.inbox).toEqual([]);
    expect(after?.fields.expires_at).toBe(before?.fields.expires_at);
    expect(after?.events).toEqual(before?.events);
  });

  it("/preview extend 2h from a user with write permission moves the expiry by 2h, with a +1", async () => {
    const pr = await readyPr(2);
    const before = await pr.expiresAt();

    const command = await pr.comment("/preview extend 2h", "maintainer");

    expect(pr.reactionsOn(command)).toEqual(["+1"]);
    await world.until(async () => (await pr.expiresAt()) !== before);
    expect(await pr.expiresAt()).toBe(before + 2 * HOUR);
    expect(pr.replies()).toEqual([]);
    // The sticky comment shows the new expiry (to the minute, as it renders it).
    const shown = new Date(before + 2 * HOUR).toISOString().slice(0, 16).replace("T", " ");
    await world.until(() => pr.sticky()?.body.includes(`**Expires:** ${shown} UTC (in 6h)`) === true);
  });

  it("/preview extend 99y is refused as a bad duration, and /preview extend 3d as over the cap", async () => {
    const pr = await readyPr(3);
    const expiresAt = (await pr.snapshot())?.fields.expires_at ?? "";

    const years = await pr.comment("/preview extend 99y", "maintainer");
    expect(pr.reactionsOn(years)).toEqual(["confused"]);
    expect(pr.replies().at(-1)?.body).toBe(
      '⚠️ "99y" is not a duration \\(examples: 30m, 4h, 2d, 1h30m\\)\n\nComment `/preview help` for the commands.',
    );

    const days = await pr.comment("/preview extend 3d", "maintainer");
    expect(pr.reactionsOn(days)).toEqual(["confused"]);
    const overCap = pr.replies().at(-1)?.body ?? "";
    expect(overCap).toContain("⚠️ The expiry cannot go past 2d from now (this template's limit).");
    // It tells when the environment does expire: unchanged, about 4h from now.
    expect(overCap).toContain(`The environment expires at ${expiresAt.slice(0, 16).replace("T", " ")} UTC (in 4h).`);

    expect(pr.replies()).toHaveLength(2);
    const after = await pr.snapshot();
    expect(after?.inbox).toEqual([]);
    expect(after?.fields.expires_at).toBe(expiresAt);
  });

  it("/preview frobnicate gets a reply listing the commands", async () => {
    const pr = await readyPr(4);
    const expiresAt = await pr.expiresAt();

    const command = await pr.comment("/preview frobnicate", "visitor");

    expect(pr.reactionsOn(command)).toEqual(["confused"]);
    expect(pr.replies().map((reply) => reply.body)).toEqual([
      '⚠️ "frobnicate" is not a command; the commands are: help, status, extend \\[duration\\], redeploy, destroy, deploy \\[sha\\]\n\n' +
        "Comment `/preview help` for the commands.",
    ]);
    expect((await pr.snapshot())?.inbox).toEqual([]);
    expect(await pr.expiresAt()).toBe(expiresAt);
  });

  it("a redelivered refusal is answered once", async () => {
    const pr = await readyPr(5);
    const comment = world.gh.addComment(pr.fullName, 5, { body: "/preview frobnicate", user: "visitor" });
    const payload = prCommentEvent(pr.scenario, comment.body, { login: "visitor", at: world.tick(), id: comment.id });

    await world.send("issue_comment", payload, "delivery-frobnicate-5");
    await pr.carriedOut(comment);
    await world.send("issue_comment", payload, "delivery-frobnicate-5");

    expect((await pr.snapshot())?.inbox).toEqual([]);
    expect(pr.replies()).toHaveLength(1);
    expect(pr.reactionsOn(comment)).toEqual(["confused"]);
  });

  it("a command is answered in under a second while GitHub takes 15 s to say who gave it, and takes effect afterwards", async () => {
    const pr = await readyPr(8);
    const before = await pr.expiresAt();
    // A user nobody has asked about yet: the permission check goes to GitHub, which answers 15 s late.
    world.gh.setPermission(pr.fullName, "slow-maintainer", "write");
    world.gh.failNext("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", { delayMs: 15_000 });
    const comment = world.gh.addComment(pr.fullName, 8, { body: "/preview extend 2h", user: "slow-maintainer" });

    const started = performance.now();
    await world.send("issue_comment", prCommentEvent(pr.scenario, comment.body, { login: "slow-maintainer", at: world.tick(), id: comment.id }));
    const answeredMs = performance.now() - started;

    expect(answeredMs).toBeLessThan(1000);
    expect((await pr.snapshot())?.inbox.map((intent) => intent.type)).toContain("command");
    await world.until(async () => (await pr.expiresAt()) === before + 2 * HOUR, 25_000);
    expect(pr.reactionsOn(comment)).toEqual(["+1"]);
    expect(world.gh.count("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")).toBeGreaterThanOrEqual(1);
  }, 40_000);

  it("outsiders cannot make the App talk: ten /preview help and a /preview frobnicate from a read-only user get one reply, and one reaction each", async () => {
    const pr = await readyPr(9);

    const comments = [];
    for (let i = 0; i < 10; i += 1) comments.push(await pr.comment("/preview help", "visitor"));
    comments.push(await pr.comment("/preview frobnicate", "visitor"));

    expect(pr.replies()).toHaveLength(1);
    expect(pr.replies()[0]?.body).toContain("Commands for this PR's preview environment:");
    expect(comments.map((comment) => pr.reactionsOn(comment))).toEqual([...Array(10).fill(["+1"]), ["confused"]]);
    // Someone with write access is still answered.
    await pr.comment("/preview frobnicate", "maintainer");
    expect(pr.replies()).toHaveLength(2);
  });

  it("ignores a command from a bot: no request, nothing recorded", async () => {
    const pr = await readyPr(6);
    const before = await pr.snapshot();
    world.gh.clearRequests();

    const payload = prCommentEvent(pr.scenario, "/preview destroy", { login: "other-app[bot]", at: world.tick() });
    payload.comment.user.type = "Bot";
    await world.send("issue_comment", payload);

    expect(world.gh.requests).toEqual([]);
    const after = await pr.snapshot();
    expect(after?.inbox).toEqual([]);
    expect(after?.events).toEqual(before?.events);
  });

  it("ignores a command on an issue that is not a PR: no request, nothing recorded", async () => {
    world.gh.clearRequests();
    const issue = world.pr(shop, 7);

    const payload = prCommentEvent(issue.scenario, "/preview deploy", { login: "maintainer", at: world.tick() });
    payload.issue = { ...examplePayload("issue_comment", "created").issue, number: 7 };
    expect(payload.issue.pull_request).toBeUndefined();
    await world.send("issue_comment", payload);

    expect(world.gh.requests).toEqual([]);
    expect(await issue.snapshot()).toBeNull();
  });
});
