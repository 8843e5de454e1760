import { describe, expect, it } from "vitest";
import { DEPLOY_STEP, sha, useSurfaceWorld } from "./surface-world.js";

/**
 * When a PR that is not a fork gets its environment (DESIGN §7): in label
 * mode once it carries the label, and a draft (under `drafts: skip`, the
 * default) once it is ready for review. Until then the PR says why, and the
 * setup step has not run.
 */

const shop = { name: "shop", id: 6301 };
const labelled = { name: "labelled", id: 6302, file: "policy:\n  trigger: label\n  label: preview\n" };
const world = useSurfaceWorld({
  operator: { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [DEPLOY_STEP] } }, policy: { drafts: "skip" } },
  repos: [shop, labelled],
});

describe("when a PR gets its environment", () => {
  it("in label mode, only once it is labelled", async () => {
    const pr = world.pr(labelled, 21);
    await pr.event("opened", sha(1));
    await pr.waitForShown("pending");
    expect(pr.sticky()?.body).toContain("Environments are created for PRs labelled `preview`, or with `/preview deploy`\\.");
    expect(pr.stepRuns()).toEqual([]);
    expect(world.gh.deploymentsOf(pr.fullName)).toEqual([]);

    await pr.event("labeled", sha(1), { labels: ["preview"] });
    await pr.waitForShown("ready");
    expect(pr.stepRuns()).toEqual([sha(1)]);
    expect(pr.sticky()?.body).toContain("### ✅ Preview environment: ready");
    expect(pr.botComments()).toHaveLength(1);
  });

  it("a draft under drafts: skip, only once it is ready for review", async () => {
    const pr = world.pr(shop, 22);
    await pr.event("opened", sha(2), { draft: true });
    await pr.waitForShown("pending");
    expect(pr.sticky()?.body).toContain("Draft PRs get an environment once they are ready for review, or with `/preview deploy`\\.");
    expect(pr.stepRuns()).toEqual([]);

    await pr.event("ready_for_review", sha(2));
    await pr.waitForShown("ready");
    expect(pr.stepRuns()).toEqual([sha(2)]);
    expect(pr.botComments()).toHaveLength(1);
  });
});
