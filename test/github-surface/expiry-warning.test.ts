import { describe, expect, it } from "vitest";
import { DEPLOY_STEP, sha, useSurfaceWorld } from "./surface-world.js";

/**
 * The reply that warns of an expiry (DESIGN §4), in seconds instead of
 * hours: a TTL of 8 s warned 4 s ahead. One warning per expiry: extending
 * past the window and letting it come near again warns once more, and the
 * expiry itself is said once. The reconciler's clock is moved into each
 * warning's window and past the expiry instead of waiting for them.
 */

const shop = { name: "shop", id: 6501 };
const world = useSurfaceWorld({
  operator: { templates: { default: { ttl: "8s", warnBefore: "4s", maxTtl: "1h", steps: [DEPLOY_STEP] } } },
  repos: [shop],
  permissions: { maintainer: "write" },
});
const WARNING = "⏰ This PR's preview environment will be torn down at";
const EXPIRED = "⌛ This PR's preview environment expired and was torn down.";
/** Into the 4 s warning window, with most of it left: the extension must come before the expiry. */
const WITHIN_WARNING_MS = 3_500;

describe("the expiry warning", () => {
  it("comes once per expiry, again after an extension, and the expiry is said once", async () => {
    const pr = world.pr(shop, 41);
    const warnings = () => pr.replies().filter((reply) => reply.body.startsWith(WARNING));
    await pr.event("opened", sha(41));
    await pr.waitForShown("ready");
    const firstExpiry = await pr.expiresAt();

    world.setReconcilerClock(firstExpiry - WITHIN_WARNING_MS);
    await world.until(() => warnings().length > 0, 10_000);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.body).toContain("`/preview extend` (adds 8s)");

    await pr.comment("/preview extend 8s", "maintainer");
    await world.until(async () => (await pr.expiresAt()) === firstExpiry + 8_000);
    expect(warnings()).toHaveLength(1);

    world.setReconcilerClock(firstExpiry + 8_000 - WITHIN_WARNING_MS);
    await world.until(() => warnings().length > 1, 15_000);
    world.setReconcilerClock(firstExpiry + 8_000);
    await pr.waitForShown("deleted");
    await world.until(() => pr.replies().some((reply) => reply.body.startsWith(EXPIRED)), 5_000);

    expect(warnings()).toHaveLength(2);
    expect(pr.replies().filter((reply) => reply.body.startsWith(EXPIRED))).toHaveLength(1);
    expect(pr.replies()).toHaveLength(3);
    expect(pr.sticky()?.body).toContain("**Reason:** it expired");
  });
});
