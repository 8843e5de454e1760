import { describe, expect, it } from "vitest";
import type { PrHandle } from "./pr-handle.js";
import { DEPLOY_STEP, sha, useSurfaceWorld } from "./surface-world.js";

/**
 * GitHub may deliver a webhook twice and in any order (DESIGN §4). Two PRs
 * live the same life from the same GitHub facts (same shas, same event
 * times): one gets each delivery once, in order; the other gets every
 * delivery twice and, after the close, the push again (redelivered with its
 * guid, and a copy with a new one). Their stores must end up the same.
 */

const shop = { name: "shop", id: 6601 };
const world = useSurfaceWorld({
  operator: { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [DEPLOY_STEP] } } },
  repos: [shop],
});

/**
 * The store's keys of one environment as far as they must agree: every
 * field but the expiry and the leases, with the PR's own number, the
 * GitHub ids (comment and deployments, kept as the shas they are for, and
 * what the PR shows as whether it has a comment) and
 * the reconciler's own timestamps taken out; the event log by event name.
 */
async function comparable(pr: PrHandle): Promise<Record<string, any>> {
  const ownNumber = (text: string) => text.replaceAll(`pr-${pr.key.pr}`, "pr-N");
  const state: Record<string, any> = {};
  for (const { key, value } of await world.app.store.exportKeys(pr.key)) {
    const part = key.slice(key.lastIndexOf(":") + 1);
    // The expiry is a wall-clock time; leases are a worker's claim while it works, and the deliveries
    // the ids it was sent with (checked below), not the environment's state.
    if (part === "expires_at" || part === "lease" || part === "teardown_lock" || part === "notify_lock" || part === "deliveries") continue;
    state[part] = Array.isArray(value) ? value.map((entry) => parsed(ownNumber(String(entry)))) : parsed(ownNumber(value));
  }
  if (state.events) state.events = state.events.map((entry: { event: string }) => entry.event);
  delete state.config?.pr;
  if (state.artifacts) {
    delete state.artifacts.commentId;
    delete state.artifacts.progress?.arrivalAt;
    state.artifacts.deployments = Object.keys(state.artifacts.deployments ?? {});
  }
  if (state.github) state.github = { comment: state.github.comment !== undefined, deployments: state.github.deployments.map((deployment: { sha: string }) => deployment.sha) };
  for (const checkpoint of Object.values<{ at?: string }>(state.checkpoints ?? {})) delete checkpoint.at;
  return state;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

describe("duplicate and out-of-order deliveries", () => {
  it("leave the store as one in-order delivery of each does", async () => {
    const at = [world.tick(), world.tick(), world.tick()] as const;
    const inOrder = world.pr(shop, 51);
    const messy = world.pr(shop, 52);

    await inOrder.event("opened", sha(1), { at: at[0] });
    await inOrder.waitForShown("ready");
    await inOrder.event("synchronize", sha(2), { at: at[1] });
    await world.until(async () => (await inOrder.snapshot())?.fields.checkpoints?.deploy?.sha === sha(2));
    await inOrder.waitForShown("ready");

    for (let i = 0; i < 2; i += 1) await messy.event("opened", sha(1), { at: at[0], deliveryId: "opened-52" });
    await messy.waitForShown("ready");
    for (let i = 0; i < 2; i += 1) await messy.event("synchronize", sha(2), { at: at[1], deliveryId: "synchronize-52" });
    await world.until(async () => (await messy.snapshot())?.fields.checkpoints?.deploy?.sha === sha(2));
    await messy.waitForShown("ready");

    expect(await comparable(messy)).toEqual(await comparable(inOrder));
    expect((await comparable(messy)).status).toBe("ready");

    await inOrder.event("closed", sha(2), { at: at[2] });
    await inOrder.waitForShown("deleted");

    for (let i = 0; i < 2; i += 1) await messy.event("closed", sha(2), { at: at[2], deliveryId: "closed-52" });
    await messy.waitForShown("deleted");
    // The push again after the close: redelivered (same guid), and a copy GitHub sent with a new one.
    await messy.event("synchronize", sha(2), { at: at[1], deliveryId: "synchronize-52", state: "closed" });
    await messy.event("synchronize", sha(2), { at: at[1], deliveryId: "synchronize-52-late", state: "closed" });
    await messy.waitForShown("deleted");

    expect(await comparable(messy)).toEqual(await comparable(inOrder));
    expect((await comparable(messy)).status).toBe("deleted");
    // Each delivery id is remembered once, in the environment's own `deliveries` key, however often it came.
    const deliveries = (await world.app.store.exportKeys(messy.key)).find(({ key }) => key.endsWith(":deliveries"))?.value as Array<[string, number]>;
    expect(deliveries.map(([id]) => id).sort()).toEqual(["closed-52", "opened-52", "synchronize-52", "synchronize-52-late"]);
    for (const pr of [inOrder, messy]) {
      expect(pr.stepRuns()).toEqual([sha(1), sha(2)]);
      expect(pr.botComments()).toHaveLength(1);
      const deployments = world.gh.deploymentsOf(pr.fullName, `preview/pr-${pr.key.pr}`);
      expect(deployments.map((deployment) => [deployment.sha, deployment.statuses.at(-1)?.state])).toEqual([
        [sha(1), "inactive"],
        [sha(2), "inactive"],
      ]);
    }
  });
});
