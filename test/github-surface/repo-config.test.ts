import { describe, expect, it } from "vitest";
import { DEPLOY_STEP, sha, useSurfaceWorld } from "./surface-world.js";

/**
 * A repository's `.github/ephemera.yml` (DESIGN §7), read from the default
 * branch: an invalid one is shown on the PR field by field and nothing is
 * provisioned; a valid one takes effect. Each case has its own repository
 * because the app caches a repository's file for a minute.
 */

const HOUR = 3_600_000;
const invalid = { name: "invalid", id: 6401, file: "ttl: 9d\npolicy:\n  forks: always\n" };
const shorter = { name: "shorter", id: 6402, file: "ttl: 2h\n" };
const world = useSurfaceWorld({
  operator: { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [DEPLOY_STEP] } }, policy: { forks: "approve" } },
  repos: [invalid, shorter],
});

describe("a repository's .github/ephemera.yml", () => {
  it("when invalid, gets a comment naming each bad field, and nothing is provisioned", async () => {
    const pr = world.pr(invalid, 31);
    await pr.event("opened", sha(1));
    await pr.waitForShown("pending");

    const body = pr.sticky()?.body ?? "";
    expect(body).toContain("### ⏸️ Preview environment: not created");
    expect(body).toContain("`.github/ephemera.yml` is not valid, so nothing was provisioned:");
    expect(body).toContain("\n- ttl: 9d is longer than the template's maxTtl \\(2d\\)\n");
    expect(body).toContain('\n- policy\\.forks: "always" is looser than the operator\'s "approve"');
    const snapshot = await pr.snapshot();
    expect(snapshot?.fields.artifacts?.blocked).toMatch(/^\.github\/ephemera\.yml is not valid:\nttl: 9d .*\npolicy\.forks: "always" /);
    expect(snapshot?.fields.checkpoints ?? {}).toEqual({});
    expect(pr.stepRuns()).toEqual([]);
    expect(world.gh.deploymentsOf(pr.fullName)).toEqual([]);
  });

  it("when valid, changes the TTL", async () => {
    const pr = world.pr(shorter, 32);
    const opened = Date.now();
    await pr.event("opened", sha(2));
    await pr.waitForShown("ready");

    const snapshot = await pr.snapshot();
    expect(snapshot?.fields.config?.ttlMs).toBe(2 * HOUR);
    const expiresAt = await pr.expiresAt();
    expect(expiresAt).toBeGreaterThanOrEqual(opened + 2 * HOUR);
    expect(expiresAt).toBeLessThan(Date.now() + 2 * HOUR);
    expect(pr.sticky()?.body).toContain("(in 2h)");
    expect(pr.stepRuns()).toEqual([sha(2)]);
  });
});
