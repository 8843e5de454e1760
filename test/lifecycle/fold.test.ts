import { describe, expect, it } from "vitest";
import type { DesiredState } from "../../src/lifecycle/desired.js";
import { closedByExpiry, foldIntents } from "../../src/lifecycle/fold.js";
import { headApproved } from "../../src/lifecycle/gates.js";
import type { Intent } from "../../src/lifecycle/intent.js";

const t = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();

function facts(type: "open" | "push", second: number, sha: string, extra: Partial<Intent> = {}): Intent {
  return {
    type,
    at: t(second),
    repo: "octo/app",
    installationId: 7,
    headSha: sha,
    headRef: "feature",
    fork: false,
    draft: false,
    labels: [],
    ...extra,
  } as Intent;
}
const close = (second: number, reason = "closed"): Intent => ({ type: "close", at: t(second), reason });

function fold(inbox: Intent[], current?: DesiredState) {
  return foldIntents(current, inbox);
}

/** Every order of a few intents must give the same registers. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe("foldIntents", () => {
  it("knows nothing until an intent names the PR", () => {
    expect(fold([]).desired).toBeUndefined();
    expect(fold([{ type: "redeploy", at: t(1), actor: "a" }]).desired).toBeUndefined();
  });

  it("opens with the PR's facts", () => {
    const { desired } = fold([facts("open", 1, "a1", { labels: ["preview"], draft: true } as Partial<Intent>)]);
    expect(desired).toMatchObject({ open: true, openAt: t(1), headSha: "a1", headAt: t(1), labels: ["preview"], draft: true, repo: "octo/app" });
  });

  it("lets a close at the same time as the open win, whatever the delivery order", () => {
    for (const order of permutations([facts("open", 5, "a1"), close(5)])) {
      expect(fold(order).desired).toMatchObject({ open: false, closeReason: "closed" });
    }
  });

  it("ignores a close older than a reopen, and revives on a later open", () => {
    const inbox = [facts("open", 1, "a1"), close(2), facts("open", 3, "a1")];
    for (const order of permutations(inbox)) {
      const { desired } = fold(order);
      expect(desired?.open).toBe(true);
      expect(desired?.openAt).toBe(t(3));
      expect(desired?.closeReason).toBeUndefined();
    }
  });

  it("ignores a push older than the current head, in any order", () => {
    for (const order of permutations([facts("open", 1, "a1"), facts("push", 3, "c3"), facts("push", 2, "b2")])) {
      expect(fold(order).desired).toMatchObject({ headSha: "c3", headAt: t(3) });
    }
  });

  it("does not resurrect a closed PR on a synchronize delivered after the close", () => {
    const closed = fold([facts("open", 1, "a1"), close(4)]).desired;
    const { desired } = fold([facts("push", 5, "b5")], closed);
    expect(desired).toMatchObject({ open: false, headSha: "b5" });
  });

  it("remembers a close that arrives before anything else, so the late open does not create", () => {
    const closed = fold([close(4)]).desired;
    expect(closed).toMatchObject({ open: false, openAt: t(4), headSha: "" });
    expect(fold([facts("open", 1, "a1")], closed).desired?.open).toBe(false);
  });

  it("treats a push for a PR never heard of as an open PR", () => {
    expect(fold([facts("push", 2, "b2")]).desired).toMatchObject({ open: true, headSha: "b2" });
  });

  it("keeps the newest draft and label facts", () => {
    const inbox = [
      facts("open", 1, "a1", { draft: true } as Partial<Intent>),
      facts("open", 3, "a1", { draft: false, labels: ["preview"] } as Partial<Intent>),
      facts("open", 2, "a1", { draft: true, labels: [] } as Partial<Intent>),
    ];
    for (const order of permutations(inbox)) {
      expect(fold(order).desired).toMatchObject({ draft: false, labels: ["preview"], factsAt: t(3) });
    }
  });

  it("records the approved sha and bumps the redeploy generation once per redeploy", () => {
    const { desired } = fold([
      facts("open", 1, "a1"),
      { type: "approve", at: t(2), sha: "a1", actor: "maintainer" },
      { type: "redeploy", at: t(3), actor: "maintainer" },
      { type: "redeploy", at: t(4), actor: "maintainer" },
    ]);
    expect(desired).toMatchObject({ approvedSha: "a1", redeployGeneration: 2 });
  });

  it("collects extensions and refreshes as operations, leaving the registers alone", () => {
    const opened = fold([facts("open", 1, "a1")]).desired;
    const result = fold(
      [
        { type: "extend", at: t(2), actor: "m", byMs: 60_000 },
        { type: "extend", at: t(3), actor: "m" },
        { type: "refresh", at: t(4) },
      ],
      opened,
    );
    expect(result.extensions).toEqual([60_000, undefined]);
    expect(result.refresh).toBe(true);
    expect(result.desired).toEqual(opened);
  });

  it("lets a deploy revive a destroyed or expired environment, never a closed PR", () => {
    const opened = fold([facts("open", 1, "a1")]).desired as DesiredState;
    const approve: Intent = { type: "approve", at: t(9), sha: "a1", actor: "m" };
    expect(fold([approve], fold([close(2, "destroy")], opened).desired).desired?.open).toBe(true);
    expect(fold([approve], closedByExpiry(opened, t(5))).desired?.open).toBe(true);
    expect(fold([approve], fold([close(2, "closed")], opened).desired).desired?.open).toBe(false);
    const stale: Intent = { type: "approve", at: t(4), sha: "a1", actor: "m" };
    expect(fold([stale], closedByExpiry(opened, t(5))).desired?.open).toBe(false);
  });

  it("folds an expiry as a close at the expiry time that never moves the register back", () => {
    const opened = fold([facts("open", 10, "a1")]).desired as DesiredState;
    expect(closedByExpiry(opened, t(20))).toMatchObject({ open: false, openAt: t(20), closeReason: "expired" });
    expect(closedByExpiry(opened, t(5)).openAt).toBe(t(10));
  });

  it("changes nothing when the same delivery is folded twice", () => {
    const inbox = [facts("open", 1, "a1"), facts("push", 2, "b2"), close(3)];
    const once = fold(inbox).desired;
    expect(fold(inbox, once).desired).toEqual(once);
  });

  it("reads a `shown` report an earlier release left in the inbox, and drops it", () => {
    const inbox = [facts("open", 1, "a1"), facts("push", 2, "b2")];
    const shown = [
      { type: "shown", at: t(1), commentId: 5, deployment: { sha: "a1", id: 50 } },
      { type: "shown", at: t(2), commentId: 6 },
    ] as const;
    expect(fold([inbox[0]!, shown[0], inbox[1]!, shown[1]])).toEqual(fold(inbox));
  });

  it("stamps each head with its first delivery, in any order, and judges an approval by those stamps", () => {
    const fork = { fork: true };
    const label = facts("open", 7, "a1", fork); // a later event about the same head (a label): does not move its stamp
    const inbox = [facts("open", 1, "a1", fork), label, facts("push", 9, "b2", fork)];
    const approve: Intent = { type: "approve", at: t(8), actor: "m" };
    for (const order of permutations([...inbox, approve])) {
      const desired = fold(order).desired as DesiredState;
      expect(desired.headStamps).toEqual({ a1: t(1), b2: t(9) });
      expect(desired).toMatchObject({ headSha: "b2", approvedAt: t(8) });
      // b2 was stamped after the comment: not covered, whichever came first.
      expect(headApproved(desired)).toBe(false);
      expect(headApproved({ ...desired, headSha: "a1" })).toBe(true);
    }
    const later = fold([{ type: "approve", at: t(10), actor: "m" }, { type: "approve", at: t(3), actor: "m" }], fold([...inbox]).desired).desired as DesiredState;
    expect(later.approvedAt).toBe(t(10));
    expect(headApproved(later)).toBe(true);
    const named = fold([{ type: "approve", at: t(3), sha: "b2", actor: "m" }], fold(inbox).desired).desired as DesiredState;
    expect(headApproved(named)).toBe(true);
  });

  it("does not let an approval cover an older head pushed back over the one the approver saw", () => {
    const fork = { fork: true };
    // m1 first, then b2, which the maintainer approves at 5; then m1 is force-pushed back (its stamp stays its first).
    const inbox = [facts("open", 1, "m1", fork), facts("push", 2, "b2", fork), { type: "approve", at: t(5), actor: "m" } as Intent, facts("push", 7, "m1", fork)];
    const desired = fold(inbox).desired as DesiredState;
    expect(desired).toMatchObject({ headSha: "m1", headStamps: { m1: t(1), b2: t(2) } });
    expect(headApproved(desired)).toBe(false);
    expect(headApproved({ ...desired, headSha: "b2" })).toBe(true);
    // Naming the sha approves it.
    const named = fold([{ type: "approve", at: t(8), sha: "m1", actor: "m" }], desired).desired as DesiredState;
    expect(headApproved(named)).toBe(true);
  });

  it("keeps the stamps of the newest heads only", () => {
    const pushes = Array.from({ length: 30 }, (_, i) => facts("push", i, `sha${i}`));
    const stamps = (fold(pushes).desired as DesiredState).headStamps ?? {};
    expect(Object.keys(stamps)).toHaveLength(20);
    expect(stamps.sha29).toBe(t(29));
    expect(stamps.sha9).toBeUndefined();
  });
});
