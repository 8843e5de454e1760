import { describe, expect, it } from "vitest";
import { DEPLOY_STEP, sha, useSurfaceWorld } from "./surface-world.js";

/** Logs the sha teardown is told, beside the setup step's runs. */
const UNDEPLOY_STEP = { name: "undeploy", run: 'echo "$EPHEMERA_REPO#$EPHEMERA_PR teardown $EPHEMERA_SHA" >> steps.log' };

/**
 * PRs from forks run code nobody with access has reviewed (DESIGN §6, §7).
 * Under `forks: approve` (the operator's policy here) nothing runs until
 * someone with write access says `/preview deploy`, and the approval covers
 * the head GitHub stamped before the comment (or the sha it names); a
 * repository that chose `forks: never` refuses the command. What ran is read
 * from the steps' own log, not inferred.
 */

const shop = { name: "shop", id: 6201 };
const strict = { name: "strict", id: 6202, file: "policy:\n  forks: never\n" };
const world = useSurfaceWorld({
  operator: { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [DEPLOY_STEP], teardown: [UNDEPLOY_STEP] } }, policy: { forks: "approve" } },
  repos: [shop, strict],
  permissions: { maintainer: "write", visitor: "read" },
});

describe("fork PRs", () => {
  it("under approve: nothing runs until /preview deploy, and a new push waits for approval again", async () => {
    const pr = world.pr(shop, 11, "stranger");
    await pr.event("opened", sha(1));
    await pr.waitForShown("pending");
    expect(pr.sticky()?.body).toContain("someone with write access must approve it with `/preview deploy`");
    expect((await pr.snapshot())?.fields.artifacts?.blocked).toContain("This PR comes from a fork");
    expect(pr.stepRuns()).toEqual([]);

    const refused = await pr.comment("/preview deploy", "visitor");
    expect(pr.reactionsOn(refused)).toEqual(["confused"]);
    expect(pr.replies().at(-1)?.body).toContain("`/preview deploy` needs write access");

    const approved = await pr.comment("/preview deploy", "maintainer");
    expect(pr.reactionsOn(approved)).toEqual(["+1"]);
    await pr.waitForShown("ready");
    expect(pr.stepRuns()).toEqual([sha(1)]);
    expect(pr.sticky()?.body).toContain("✅ Preview environment: ready");

    await pr.event("synchronize", sha(2));
    await world.until(async () => (await pr.snapshot())?.fields.artifacts?.blocked !== undefined);
    await world.until(() => pr.sticky()?.body.includes("A newer push is waiting for approval") === true);
    // The environment of the approved head still runs, and the PR says so.
    const sticky = pr.sticky()?.body ?? "";
    expect(sticky).toContain("### ✅ Preview environment: ready");
    expect(sticky).toContain(`⏸️ A newer push is waiting for approval: the head ${sha(2).slice(0, 7)} came after the last`);
    expect(sticky).toContain("**URL:** [http://127\\.0\\.0\\.1:9/pr\\-11]");
    const held = await pr.snapshot();
    expect(held?.fields.artifacts?.blocked).toBe(
      `A newer push is waiting for approval: the head ${sha(2).slice(0, 7)} came after the last \`/preview deploy\`; someone with write access must approve it with \`/preview deploy\` again, or name it: \`/preview deploy ${sha(2)}\`.`,
    );
    expect(held?.fields.status).toBe("ready");
    expect(held?.fields.checkpoints?.deploy?.sha).toBe(sha(1));
    expect(pr.stepRuns()).toEqual([sha(1)]);
    // No deployment for the head that was not approved.
    expect(world.gh.deploymentsOf(pr.fullName).map((deployment) => deployment.sha)).toEqual([sha(1)]);

    await pr.comment("/preview deploy", "maintainer");
    await world.until(async () => (await pr.snapshot())?.fields.checkpoints?.deploy?.sha === sha(2));
    await pr.waitForShown("ready");
    expect(pr.stepRuns()).toEqual([sha(1), sha(2)]);
    expect(pr.sticky()?.body).not.toContain("A newer push is waiting");
    expect(world.gh.deploymentsOf(pr.fullName).map((deployment) => deployment.sha)).toEqual([sha(1), sha(2)]);
  });

  it("an approval does not cover a push GitHub stamped after the comment, even one processed before it; a fresh approval does", async () => {
    const pr = world.pr(shop, 13, "stranger");
    await pr.event("opened", sha(4));
    await pr.waitForShown("pending");
    // The maintainer comments after seeing sha(4); the author pushes sha(5) a second later, and that push is processed first.
    const commentedAt = world.tick();
    await pr.event("synchronize", sha(5), { at: world.tick() });

    const approval = await pr.comment("/preview deploy", "maintainer", commentedAt);

    expect(pr.reactionsOn(approval)).toEqual(["+1"]);
    await world.until(async () => (await pr.snapshot())?.fields.artifacts?.blocked?.startsWith("A newer push is waiting for approval") === true);
    await world.until(() => pr.sticky()?.body.includes(`A newer push is waiting for approval: the head ${sha(5).slice(0, 7)}`) === true);
    expect((await pr.snapshot())?.fields.status).toBe("pending");
    expect(pr.stepRuns()).toEqual([]);
    expect(world.gh.deploymentsOf(pr.fullName, "preview/pr-13")).toEqual([]);

    await pr.comment("/preview deploy", "maintainer");
    await pr.waitForShown("ready");
    expect(pr.stepRuns()).toEqual([sha(5)]);
  });

  it("/preview deploy <sha> approves that commit when it is the head, and a later push renews nothing and reaches no step, teardown's included", async () => {
    const pr = world.pr(shop, 14, "stranger");
    await pr.event("opened", sha(6));
    await pr.waitForShown("pending");

    const elsewhere = await pr.comment(`/preview deploy ${sha(9)}`, "maintainer");
    expect(pr.reactionsOn(elsewhere)).toEqual(["+1"]);
    expect((await pr.snapshot())?.fields.desired?.approvedSha).toBe(sha(9));
    await world.until(async () => (await pr.snapshot())?.inbox.length === 0);
    expect((await pr.snapshot())?.fields.status).toBe("pending");
    expect(pr.stepRuns()).toEqual([]);

    const short = await pr.comment(`/preview deploy ${sha(6).slice(0, 7)}`, "maintainer");
    expect(pr.reactionsOn(short)).toEqual(["confused"]);
    expect(pr.replies().at(-1)?.body).toContain("takes the head's full 40\\-character commit sha");

    await pr.comment(`/preview deploy ${sha(6).toUpperCase()}`, "maintainer");
    await pr.waitForShown("ready");
    expect(pr.stepRuns()).toEqual([sha(6)]);
    const expiresAt = await pr.expiresAt();

    await pr.event("synchronize", sha(7));
    await world.until(async () => (await pr.snapshot())?.fields.desired?.headSha === sha(7) && (await pr.snapshot())?.fields.artifacts?.blocked !== undefined);
    expect(await pr.expiresAt()).toBe(expiresAt);
    expect((await pr.snapshot())?.fields.config?.headSha).toBe(sha(6));

    await pr.event("closed", sha(7));
    await pr.waitForShown("deleted");
    expect(pr.stepRuns()).toEqual([sha(6), `teardown ${sha(6)}`]);
  });

  it("under never: /preview deploy is refused and nothing runs", async () => {
    const pr = world.pr(strict, 12, "stranger");
    await pr.event("opened", sha(3));
    await pr.waitForShown("pending");
    expect(pr.sticky()?.body).toContain("PRs from forks do not get an environment here \\(policy forks: never\\)");

    const command = await pr.comment("/preview deploy", "maintainer");

    expect(pr.reactionsOn(command)).toEqual(["confused"]);
    expect(pr.replies().map((reply) => reply.body)).toEqual([
      "⚠️ this repository never deploys pull requests from forks\n\nComment `/preview help` for the commands.",
    ]);
    const snapshot = await pr.snapshot();
    expect(snapshot?.inbox).toEqual([]);
    expect(snapshot?.fields.status).toBe("pending");
    expect(snapshot?.fields.desired?.approvedSha).toBeUndefined();
    expect(pr.stepRuns()).toEqual([]);
    expect(world.gh.deploymentsOf(pr.fullName)).toEqual([]);
  });
});
