import { describe, expect, it } from "vitest";
import { DEPLOY_STEP, sha, useSurfaceWorld } from "./surface-world.js";

/**
 * PRs from forks run code nobody with access has reviewed (DESIGN §6, §7).
 * Under `forks: approve` (the operator's policy here) nothing runs until
 * someone with write access says `/preview deploy`, and the approval covers
 * the head it was given for; a repository that chose `forks: never` refuses
 * the command. What ran is read from the step's own log, not inferred.
 */

const shop = { name: "shop", id: 6201 };
const strict = { name: "strict", id: 6202, file: "policy:\n  forks: never\n" };
const world = useSurfaceWorld({
  operator: { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [DEPLOY_STEP] } }, policy: { forks: "approve" } },
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
    await world.until(() => pr.sticky()?.body.includes("needs `/preview deploy` again") === true);
    // The environment of the approved head still runs, and the PR says so.
    const sticky = pr.sticky()?.body ?? "";
    expect(sticky).toContain("### ✅ Preview environment: ready");
    expect(sticky).toContain(`⏸️ The approval covered ${sha(1).slice(0, 7)}; the new head ${sha(2).slice(0, 7)} needs \`/preview deploy\` again\\.`);
    expect(sticky).toContain("**URL:** [http://127\\.0\\.0\\.1:9/pr\\-11]");
    const held = await pr.snapshot();
    expect(held?.fields.artifacts?.blocked).toBe(`The approval covered ${sha(1).slice(0, 7)}; the new head ${sha(2).slice(0, 7)} needs \`/preview deploy\` again.`);
    expect(held?.fields.status).toBe("ready");
    expect(held?.fields.checkpoints?.deploy?.sha).toBe(sha(1));
    expect(pr.stepRuns()).toEqual([sha(1)]);
    // No deployment for the head that was not approved.
    expect(world.gh.deploymentsOf(pr.fullName).map((deployment) => deployment.sha)).toEqual([sha(1)]);

    await pr.comment("/preview deploy", "maintainer");
    await world.until(async () => (await pr.snapshot())?.fields.checkpoints?.deploy?.sha === sha(2));
    await pr.waitForShown("ready");
    expect(pr.stepRuns()).toEqual([sha(1), sha(2)]);
    expect(pr.sticky()?.body).not.toContain("/preview deploy` again");
    expect(world.gh.deploymentsOf(pr.fullName).map((deployment) => deployment.sha)).toEqual([sha(1), sha(2)]);
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
