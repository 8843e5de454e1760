import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DesiredState } from "../../src/lifecycle/desired.js";
import type { EnvConfig, EnvKey } from "../../src/lifecycle/environment.js";
import type { Intent } from "../../src/lifecycle/intent.js";
import type { Change, EnvFields, StateStore } from "../../src/lifecycle/state-store.js";
import { EVENT_LOG_LIMIT } from "../../src/lifecycle/state-store.js";
import { CorruptRecordError, encodeEvent, encodeIntent } from "../../src/store/field-codec.js";
import { ADMISSION_WAKE_LIMIT } from "../../src/store/keys.js";

/**
 * The behaviour every StateStore adapter must have. Each adapter's test file
 * calls `storeContract` with a way to open stores; the suite runs unchanged
 * against each, against the real thing (a redis-server, a SQLite file).
 */
export interface ContractBacking {
  /**
   * Opens a store. Two calls with the same `space` share one backing (two
   * clients, as two replicas would be); another `space` is a separate, empty
   * backing with the same key prefix.
   */
  open(space: string): Promise<StateStore>;
  /** The key prefix every store it opens uses (DESIGN §3). */
  readonly prefix: string;
  /** Closes everything opened and removes what the backing created. */
  dispose(): Promise<void>;
}

const HOUR = 3_600_000;
let nextRepoId = 1000;
/** A repository id no other test in this run uses, so tests need no cleanup between them. */
function freshRepo(): number {
  nextRepoId += 1;
  return nextRepoId;
}

function pushIntent(sha: string, at = new Date().toISOString()): Intent {
  return {
    type: "push",
    at,
    repo: "octo/app",
    installationId: 7,
    headSha: sha,
    headRef: "feature",
    fork: false,
    draft: false,
    labels: [],
  };
}

function fields(key: EnvKey, overrides: Partial<EnvFields> = {}): EnvFields {
  const config: EnvConfig = {
    repo: "octo/app",
    repoId: key.repoId,
    installationId: 7,
    pr: key.pr,
    headSha: "a".repeat(40),
    headRef: "feature",
    fork: false,
    template: "default",
    ttlMs: 24 * HOUR,
  };
  const desired: DesiredState = {
    open: true,
    openAt: "2026-01-01T00:00:00.000Z",
    repo: "octo/app",
    installationId: 7,
    headSha: config.headSha,
    headRef: "feature",
    headAt: "2026-01-01T00:00:00.000Z",
    fork: false,
    draft: false,
    labels: [],
    redeployGeneration: 0,
  };
  return {
    status: "provisioning",
    config,
    artifacts: { url: "https://pr-1.preview.example", commentId: 5, deployments: { [config.headSha]: 9 }, outputs: { deploy: { url: "https://pr-1.preview.example" } } },
    expires_at: new Date(Date.now() + 24 * HOUR).toISOString(),
    checkpoints: { database: { sha: config.headSha, at: "2026-01-01T00:00:01.000Z", outputs: { name: "eph_1_pr_1" } } },
    desired,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function change(overrides: Partial<Change> = {}): Change {
  return { dueAt: null, keyTtlMs: HOUR, ...overrides };
}

export function storeContract(name: string, makeBacking: () => Promise<ContractBacking>): void {
  describe(`StateStore contract: ${name}`, () => {
    let backing: ContractBacking;
    let store: StateStore;
    let replica: StateStore;

    beforeAll(async () => {
      backing = await makeBacking();
      store = await backing.open("main");
      replica = await backing.open("main");
    });
    afterAll(async () => {
      await backing.dispose();
    });

    it("reports which adapter it is and answers ping", async () => {
      expect(store.kind).toBe(name);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("knows nothing of an environment never written", async () => {
      expect(await store.load({ repoId: freshRepo(), pr: 1 })).toBeNull();
    });

    describe("intents", () => {
      it("records an intent in the inbox and marks the environment due now", async () => {
        const key = { repoId: freshRepo(), pr: 42 };
        const before = Date.now();
        expect(await store.recordIntent(key, pushIntent("b".repeat(40)), { keyTtlMs: HOUR })).toBe("recorded");
        const snapshot = await replica.load(key);
        expect(snapshot?.inbox).toEqual([pushIntent("b".repeat(40), snapshot?.inbox[0]?.at)]);
        expect(snapshot?.fields).toEqual({});
        expect(snapshot?.dueAt).toBeGreaterThanOrEqual(before - 1000);
        expect(snapshot?.dueAt).toBeLessThanOrEqual(Date.now());
        expect(await store.listKeys(key.repoId)).toEqual([key]);
        expect(await store.listRepos()).toContain(key.repoId);
      });

      it("records a delivery once, per environment", async () => {
        const repoId = freshRepo();
        const intent = pushIntent("c".repeat(40));
        const options = { deliveryId: "d-1", keyTtlMs: HOUR };
        expect(await store.recordIntent({ repoId, pr: 1 }, intent, options)).toBe("recorded");
        expect(await replica.recordIntent({ repoId, pr: 1 }, intent, options)).toBe("duplicate");
        expect(await store.recordIntent({ repoId, pr: 2 }, intent, options)).toBe("recorded");
        expect((await store.load({ repoId, pr: 1 }))?.inbox).toHaveLength(1);
        expect((await store.load({ repoId, pr: 2 }))?.inbox).toHaveLength(1);
      });

      it("records intents sent in one turn each on its own, in order, a repeated delivery among them once", async () => {
        const repoId = freshRepo();
        const options = (deliveryId: string) => ({ deliveryId, keyTtlMs: HOUR });
        const outcomes = await Promise.all([
          store.recordIntent({ repoId, pr: 1 }, pushIntent("1".repeat(40)), options("t-1")),
          store.recordIntent({ repoId, pr: 1 }, pushIntent("2".repeat(40)), options("t-2")),
          store.recordIntent({ repoId, pr: 1 }, pushIntent("2".repeat(40)), options("t-2")),
          store.recordIntent({ repoId, pr: 2 }, pushIntent("3".repeat(40)), options("t-3")),
          store.recordIntent({ repoId: freshRepo(), pr: 1 }, pushIntent("4".repeat(40)), options("t-4")),
        ]);
        expect(outcomes).toEqual(["recorded", "recorded", "duplicate", "recorded", "recorded"]);
        const shas = (await store.load({ repoId, pr: 1 }))?.inbox.map((intent) => (intent.type === "push" ? intent.headSha : ""));
        expect(shas).toEqual(["1".repeat(40), "2".repeat(40)]);
        expect(await store.listKeys(repoId)).toEqual([
          { repoId, pr: 1 },
          { repoId, pr: 2 },
        ]);
        for (const pr of [1, 2]) expect((await store.load({ repoId, pr }))?.dueAt).toBeLessThanOrEqual(Date.now());
      });

      it("refuses a delivery again within its window, and keeps only the ids of the window", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        const intent = pushIntent("d".repeat(40));
        const windowMs = 300;
        const deliveryIds = async () => {
          const entry = (await store.exportKeys(key)).find((exported) => exported.key.endsWith(":deliveries"));
          return (entry?.value as Array<[string, number]> | undefined)?.map(([id]) => id) ?? [];
        };
        // Remembered for an hour: this one also keeps the deliveries key alive past the short window below.
        expect(await store.recordIntent(key, intent, { deliveryId: "long", keyTtlMs: HOUR })).toBe("recorded");
        for (const id of ["w-1", "w-2", "w-3"]) expect(await store.recordIntent(key, intent, { deliveryId: id, keyTtlMs: windowMs })).toBe("recorded");
        expect(await replica.recordIntent(key, intent, { deliveryId: "w-2", keyTtlMs: windowMs })).toBe("duplicate");
        expect(await store.recordIntent(key, intent, { deliveryId: "long", keyTtlMs: HOUR })).toBe("duplicate");
        expect(await deliveryIds()).toEqual(["long", "w-1", "w-2", "w-3"]);

        await sleep(windowMs + 150);
        // Past the window: recording another forgets every id older than it, and an old one is new again.
        expect(await store.recordIntent(key, intent, { deliveryId: "w-4", keyTtlMs: windowMs })).toBe("recorded");
        expect(await deliveryIds()).toEqual(["w-4"]);
        expect(await replica.recordIntent(key, intent, { deliveryId: "w-1", keyTtlMs: windowMs })).toBe("recorded");
        expect(await store.recordIntent(key, intent, { deliveryId: "w-4", keyTtlMs: windowMs })).toBe("duplicate");
        expect((await store.load(key))?.inbox).toHaveLength(6);
      });

      it("remembers a delivery for its window even when the environment's keys expire sooner", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        const intent = pushIntent("e".repeat(40));
        expect(await store.recordIntent(key, intent, { deliveryId: "kept", keyTtlMs: HOUR })).toBe("recorded");
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "deleted" }, consumed: 1, keyTtlMs: 150 }));
        await store.releaseLease(key, "lease", "w");
        await sleep(400);
        // The deliveries alone are not an environment…
        expect(await store.load(key)).toBeNull();
        expect(await store.listKeys(key.repoId)).toEqual([]);
        // …but the delivery is still refused.
        expect(await replica.recordIntent(key, intent, { deliveryId: "kept", keyTtlMs: HOUR })).toBe("duplicate");
        const deliveries = (await store.exportKeys(key)).find((exported) => exported.key.endsWith(":deliveries"));
        expect(deliveries?.ttlMs).toBeGreaterThan(HOUR - 60_000);
      });

      it("loses no intent when two clients record at once", async () => {
        const key = { repoId: freshRepo(), pr: 3 };
        const writes = Array.from({ length: 100 }, (_, i) =>
          (i % 2 === 0 ? store : replica).recordIntent(key, pushIntent(String(i).padStart(40, "0")), { keyTtlMs: HOUR }),
        );
        await Promise.all(writes);
        const shas = (await store.load(key))?.inbox.map((intent) => (intent.type === "push" ? intent.headSha : ""));
        expect(new Set(shas).size).toBe(100);
      });
    });

    describe("leases and fencing", () => {
      it("lets one owner hold a lease at a time", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        expect(await store.acquireLease(key, "lease", "worker-a", HOUR)).toBe(true);
        expect(await replica.acquireLease(key, "lease", "worker-b", HOUR)).toBe(false);
        expect(await store.acquireLease(key, "lease", "worker-a", HOUR)).toBe(true);
        expect(await replica.renewLease(key, "lease", "worker-b", HOUR)).toBe(false);
        await replica.releaseLease(key, "lease", "worker-b");
        expect(await replica.acquireLease(key, "lease", "worker-b", HOUR)).toBe(false);
        expect(await store.renewLease(key, "lease", "worker-a", HOUR)).toBe(true);
        await store.releaseLease(key, "lease", "worker-a");
        expect(await replica.acquireLease(key, "lease", "worker-b", HOUR)).toBe(true);
      });

      it("keeps the lease and the teardown lock apart", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        expect(await store.acquireLease(key, "lease", "worker-a", HOUR)).toBe(true);
        expect(await replica.acquireLease(key, "teardown_lock", "worker-b", HOUR)).toBe(true);
        expect(await store.acquireLease(key, "teardown_lock", "worker-a", HOUR)).toBe(false);
      });

      it("gives a contended lease to exactly one of many concurrent claimants", async () => {
        for (let round = 0; round < 10; round += 1) {
          const key = { repoId: freshRepo(), pr: round + 1 };
          const claims = await Promise.all(
            Array.from({ length: 6 }, (_, i) => (i % 2 ? store : replica).acquireLease(key, "teardown_lock", `w${i}`, HOUR)),
          );
          expect(claims.filter(Boolean)).toHaveLength(1);
        }
      });

      it("refuses every write from a holder whose lease expired", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        expect(await store.acquireLease(key, "lease", "slow", 100)).toBe(true);
        await sleep(250);
        expect(await store.renewLease(key, "lease", "slow", HOUR)).toBe(false);
        expect(await replica.acquireLease(key, "lease", "fast", HOUR)).toBe(true);
        const late = await store.commit(key, { name: "lease", owner: "slow" }, change({ set: fields(key, { status: "ready" }) }));
        expect(late).toBe("fenced");
        expect((await store.load(key))?.fields.status).toBeUndefined();
        const current = await replica.commit(key, { name: "lease", owner: "fast" }, change({ set: { status: "failed" } }));
        expect(current).toBe("committed");
        expect((await store.load(key))?.fields.status).toBe("failed");
      });

      it("refuses a commit from an owner that never held the lease", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        expect(await store.commit(key, { name: "lease", owner: "nobody" }, change({ set: { status: "ready" } }))).toBe("fenced");
        expect(await store.load(key)).toBeNull();
      });
    });

    describe("what GitHub shows (the notifier's record)", () => {
      const shown = { comment: { id: 11, digest: "c1" }, deployments: [{ sha: "a".repeat(40), id: 22, status: "s1" }] };
      const notifier = { name: "notify_lock", owner: "notifier-a" } as const;

      it("records it only under the notify_lock, apart from the lease", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: fields(key) }));
        expect(await store.recordShown(key, notifier, shown)).toBe("fenced");
        expect(await store.acquireLease(key, "notify_lock", "notifier-a", HOUR)).toBe(true);
        expect(await replica.acquireLease(key, "notify_lock", "notifier-b", HOUR)).toBe(false);
        expect(await store.recordShown(key, notifier, shown)).toBe("committed");
        expect(await replica.recordShown(key, { name: "notify_lock", owner: "notifier-b" }, { deployments: [] })).toBe("fenced");
        expect((await replica.load(key))?.shown).toEqual(shown);
      });

      it("is neither overwritten nor dropped by a commit, and lives as long as the environment", async () => {
        const key = { repoId: freshRepo(), pr: 2 };
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: fields(key), keyTtlMs: HOUR }));
        await store.acquireLease(key, "notify_lock", "notifier-a", 60_000);
        await store.recordShown(key, notifier, shown);
        const ttlOf = async (part: string) => (await store.exportKeys(key)).find((entry) => entry.key.endsWith(`:${part}`))?.ttlMs ?? 0;
        expect(await ttlOf("github")).toBeGreaterThan(HOUR - 60_000);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "ready", artifacts: { deployments: {}, outputs: {} } }, keyTtlMs: 3 * HOUR }));
        expect((await store.load(key))?.shown).toEqual(shown);
        expect(await ttlOf("github")).toBeGreaterThan(2 * HOUR);
        const exported = await store.exportKeys(key);
        const { store: empty, dispose } = await isolatedStore(backing, "shown-import");
        try {
          await empty.importKeys(exported);
          expect((await empty.load(key))?.shown).toEqual(shown);
        } finally {
          await dispose();
        }
      });
    });

    describe("commits", () => {
      it("writes every field and reads it back as written", async () => {
        const key = { repoId: freshRepo(), pr: 7 };
        const written = fields(key);
        await store.acquireLease(key, "lease", "w", HOUR);
        expect(await store.commit(key, { name: "lease", owner: "w" }, change({ set: written, dueAt: Date.parse(written.expires_at) }))).toBe("committed");
        const snapshot = await replica.load(key);
        expect(snapshot?.fields).toEqual(written);
        expect(snapshot?.dueAt).toBe(Date.parse(written.expires_at));
      });

      it("changes only the fields named", async () => {
        const key = { repoId: freshRepo(), pr: 7 };
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: fields(key) }));
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "ready" } }));
        const snapshot = await store.load(key);
        expect(snapshot?.fields).toEqual({ ...fields(key, { expires_at: snapshot?.fields.expires_at ?? "" }), status: "ready" });
      });

      it("removes the folded intents and keeps those recorded meanwhile", async () => {
        const key = { repoId: freshRepo(), pr: 8 };
        await store.recordIntent(key, pushIntent("1".repeat(40)), { keyTtlMs: HOUR });
        await store.recordIntent(key, pushIntent("2".repeat(40)), { keyTtlMs: HOUR });
        await store.acquireLease(key, "lease", "w", HOUR);
        const seen = await store.load(key);
        expect(seen?.inbox).toHaveLength(2);
        await replica.recordIntent(key, pushIntent("3".repeat(40)), { keyTtlMs: HOUR });
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "pending" }, consumed: seen?.inbox.length ?? 0 }));
        const after = await store.load(key);
        expect(after?.inbox.map((intent) => intent.type === "push" && intent.headSha)).toEqual(["3".repeat(40)]);
      });

      it("keeps the last entries of the event log", async () => {
        const key = { repoId: freshRepo(), pr: 9 };
        await store.acquireLease(key, "lease", "w", HOUR);
        const events = Array.from({ length: EVENT_LOG_LIMIT + 10 }, (_, i) => ({ at: new Date(i).toISOString(), event: `e${i}` }));
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "pending" }, events: events.slice(0, 5) }));
        await store.commit(key, { name: "lease", owner: "w" }, change({ events: events.slice(5) }));
        const log = (await store.load(key))?.events ?? [];
        expect(log).toHaveLength(EVENT_LOG_LIMIT);
        expect(log.at(-1)?.event).toBe(`e${EVENT_LOG_LIMIT + 9}`);
        expect(log[0]?.event).toBe("e10");
      });

      it("puts a store TTL on every key of the environment", async () => {
        const key = { repoId: freshRepo(), pr: 10 };
        await store.recordIntent(key, pushIntent("4".repeat(40)), { deliveryId: "ttl-1", keyTtlMs: 2 * HOUR });
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: fields(key), events: [{ at: "x", event: "created" }], keyTtlMs: 3 * HOUR }));
        const exported = await store.exportKeys(key);
        const names = exported.map((entry) => entry.key.slice(entry.key.lastIndexOf(":") + 1));
        expect(names).toEqual(expect.arrayContaining(["status", "config", "artifacts", "expires_at", "checkpoints", "desired", "inbox", "events", "lease", "deliveries"]));
        for (const entry of exported) {
          expect(entry.key.startsWith(`${entry.key.slice(0, entry.key.indexOf("{"))}{${key.repoId}}:env:pr-10:`)).toBe(true);
          expect(entry.ttlMs, entry.key).not.toBeNull();
          expect(entry.ttlMs, entry.key).toBeGreaterThan(0);
          expect(entry.ttlMs, entry.key).toBeLessThanOrEqual(3 * HOUR);
        }
        expect(exported.find((entry) => entry.key.endsWith(":status"))?.value).toBe("provisioning");
      });

      it("forgets an environment whose keys outlived their store TTL", async () => {
        const key = { repoId: freshRepo(), pr: 11 };
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: fields(key), keyTtlMs: 150 }));
        await store.releaseLease(key, "lease", "w");
        expect((await store.load(key))?.fields.status).toBe("provisioning");
        await sleep(400);
        expect(await store.load(key)).toBeNull();
        expect(await store.listKeys(key.repoId)).toEqual([]);
      });

      it("keeps a deleted environment as a tombstone that is never due", async () => {
        const key = { repoId: freshRepo(), pr: 12 };
        await store.acquireLease(key, "teardown_lock", "w", HOUR);
        await store.commit(key, { name: "teardown_lock", owner: "w" }, change({ set: fields(key), dueAt: Date.now() - 1 }));
        await store.commit(key, { name: "teardown_lock", owner: "w" }, change({ set: { status: "deleted" }, dueAt: null, keyTtlMs: 7 * 24 * HOUR }));
        await store.releaseLease(key, "teardown_lock", "w");
        const snapshot = await store.load(key);
        expect(snapshot?.fields.status).toBe("deleted");
        expect(snapshot?.dueAt).toBeNull();
        const status = (await store.exportKeys(key)).find((entry) => entry.key.endsWith(":status"));
        expect(status?.ttlMs).toBeGreaterThan(6 * 24 * HOUR);
        expect(await store.claimDue(Date.now() + HOUR, 1000, 1000)).not.toContainEqual(key);
      });
    });

    describe("the due index", () => {
      async function commitDue(key: EnvKey, dueAt: number | null) {
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "ready" }, dueAt }));
        await store.releaseLease(key, "lease", "w");
      }

      it("returns what is due, oldest first, hides it while worked, and brings it back", async () => {
        const { store: isolated, dispose } = await isolatedStore(backing, "due-1");
        try {
          const repoA = freshRepo();
          const repoB = freshRepo();
          const now = Date.now();
          const later = { repoId: repoA, pr: 1 };
          const older = { repoId: repoB, pr: 2 };
          const newer = { repoId: repoA, pr: 3 };
          for (const [key, dueAt] of [[later, now + HOUR], [older, now - 5000], [newer, now - 1000]] as const) {
            await isolated.acquireLease(key, "lease", "w", HOUR);
            await isolated.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "ready" }, dueAt }));
          }
          expect(await isolated.claimDue(now, 10, 200)).toEqual([older, newer]);
          expect(await isolated.claimDue(now, 10, 200)).toEqual([]);
          await sleep(300);
          expect(await isolated.claimDue(Date.now(), 1, 200)).toEqual([older]);
          expect(await isolated.claimDue(Date.now(), 10, 200)).toEqual([newer]);
          await isolated.markDue(later, now - 10);
          expect(await isolated.claimDue(Date.now(), 10, 200)).toEqual([later]);
        } finally {
          await dispose();
        }
      });

      it("brings an environment forward but never pushes it back with markDue", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        const now = Date.now();
        await commitDue(key, now + HOUR);
        await store.markDue(key, now + 2 * HOUR);
        expect((await store.load(key))?.dueAt).toBe(now + HOUR);
        await store.markDue(key, now + 1000);
        expect((await store.load(key))?.dueAt).toBe(now + 1000);
      });

      it("keeps an environment due while intents recorded after its load wait in the inbox", async () => {
        const { store: isolated, dispose } = await isolatedStore(backing, "due-3");
        try {
          const key = { repoId: freshRepo(), pr: 1 };
          await isolated.recordIntent(key, pushIntent("1".repeat(40)), { keyTtlMs: HOUR });
          await isolated.acquireLease(key, "lease", "w", HOUR);
          const seen = await isolated.load(key);
          await isolated.recordIntent(key, pushIntent("2".repeat(40)), { keyTtlMs: HOUR });
          await isolated.commit(key, { name: "lease", owner: "w" }, change({ consumed: seen?.inbox.length ?? 0, dueAt: Date.now() + HOUR }));
          expect((await isolated.load(key))?.dueAt).toBeLessThanOrEqual(Date.now());
          expect(await isolated.claimDue(Date.now(), 10, HOUR)).toEqual([key]);
        } finally {
          await dispose();
        }
      });

      it("hands each due environment to one of two competing workers", async () => {
        const { store: first, dispose } = await isolatedStore(backing, "due-2");
        const second = await backing.open("due-2");
        try {
          const repoId = freshRepo();
          for (let pr = 1; pr <= 40; pr += 1) {
            const key = { repoId, pr };
            await first.acquireLease(key, "lease", "w", HOUR);
            await first.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "ready" }, dueAt: Date.now() - pr }));
          }
          const claimed = (await Promise.all([first, second, first, second].map((s) => s.claimDue(Date.now(), 15, HOUR)))).flat();
          expect(claimed).toHaveLength(40);
          expect(new Set(claimed.map((key) => key.pr)).size).toBe(40);
        } finally {
          await second.close();
          await dispose();
        }
      });
    });

    describe("admission", () => {
      it("admits within the per-repository and global limits, in arrival order", async () => {
        const { store: isolated, dispose } = await isolatedStore(backing, "admission-1");
        try {
          const limits = { perRepo: 2, global: 3 };
          const repoA = freshRepo();
          const repoB = freshRepo();
          const t = Date.now();
          expect(await isolated.admit({ repoId: repoA, pr: 1 }, t + 1, limits)).toEqual({ admitted: true, position: 0 });
          expect(await isolated.admit({ repoId: repoA, pr: 2 }, t + 2, limits)).toEqual({ admitted: true, position: 0 });
          expect(await isolated.admit({ repoId: repoA, pr: 3 }, t + 3, limits)).toEqual({ admitted: false, position: 1 });
          expect(await isolated.admit({ repoId: repoB, pr: 1 }, t + 4, limits)).toEqual({ admitted: true, position: 0 });
          expect(await isolated.admit({ repoId: repoB, pr: 2 }, t + 5, limits)).toEqual({ admitted: false, position: 2 });
          expect(await isolated.admit({ repoId: repoA, pr: 1 }, t + 1, limits)).toEqual({ admitted: true, position: 0 });
          expect(await isolated.admissionCounts()).toEqual({ active: 3, queued: 2 });

          expect(await isolated.releaseAdmission({ repoId: repoB, pr: 1 })).toEqual([
            { repoId: repoA, pr: 3 },
            { repoId: repoB, pr: 2 },
          ]);
          // repoA/pr-3 arrived first but its repository is full: repoB/pr-2 may go.
          expect(await isolated.admit({ repoId: repoA, pr: 3 }, t + 3, limits)).toEqual({ admitted: false, position: 1 });
          expect(await isolated.admit({ repoId: repoB, pr: 2 }, t + 5, limits)).toEqual({ admitted: true, position: 0 });
          await isolated.releaseAdmission({ repoId: repoA, pr: 1 });
          expect(await isolated.admit({ repoId: repoA, pr: 3 }, t + 3, limits)).toEqual({ admitted: true, position: 0 });
          expect(await isolated.admissionCounts()).toEqual({ active: 3, queued: 0 });
        } finally {
          await dispose();
        }
      });

      it("never overshoots the limit under concurrent admission", async () => {
        const { store: first, dispose } = await isolatedStore(backing, "admission-2");
        const second = await backing.open("admission-2");
        try {
          const limits = { perRepo: 100, global: 5 };
          const t = Date.now();
          const results = await Promise.all(
            Array.from({ length: 30 }, (_, i) => (i % 2 ? first : second).admit({ repoId: freshRepo(), pr: 1 }, t + i, limits)),
          );
          expect(results.filter((result) => result.admitted)).toHaveLength(5);
          expect(await first.admissionCounts()).toEqual({ active: 5, queued: 25 });
        } finally {
          await second.close();
          await dispose();
        }
      });
      it("hands back the first waiters to wake on a release, oldest first, at most ADMISSION_WAKE_LIMIT", async () => {
        const { store: isolated, dispose } = await isolatedStore(backing, "admission-3");
        try {
          const limits = { perRepo: 100, global: 1 };
          const t = Date.now();
          const holder = { repoId: freshRepo(), pr: 1 };
          await isolated.admit(holder, t, limits);
          const waiters = Array.from({ length: ADMISSION_WAKE_LIMIT + 2 }, (_, i) => ({ repoId: freshRepo(), pr: 1, at: t + 100 - i }));
          for (const { repoId, pr, at } of waiters) await isolated.admit({ repoId, pr }, at, limits);
          const oldestFirst = [...waiters].sort((a, b) => a.at - b.at).map(({ repoId, pr }) => ({ repoId, pr }));
          expect(await isolated.releaseAdmission(holder)).toEqual(oldestFirst.slice(0, ADMISSION_WAKE_LIMIT));
        } finally {
          await dispose();
        }
      });
    });

    describe("counts for /metrics", () => {
      /** Writes an environment with `status` through the port, as the reconciler does. */
      async function commitStatus(target: StateStore, key: EnvKey, status: EnvFields["status"], overrides: Partial<Change> = {}) {
        await target.acquireLease(key, "lease", "w", HOUR);
        await target.commit(key, { name: "lease", owner: "w" }, change({ set: { status }, ...overrides }));
        await target.releaseLease(key, "lease", "w");
      }

      it("counts environments by status, tombstones included, unreconciled and expired ones not", async () => {
        const { store: isolated, dispose } = await isolatedStore(backing, "counts-1");
        try {
          expect(await isolated.countByStatus()).toEqual({});
          const repoA = freshRepo();
          const repoB = freshRepo();
          await commitStatus(isolated, { repoId: repoA, pr: 1 }, "ready");
          await commitStatus(isolated, { repoId: repoA, pr: 2 }, "ready");
          await commitStatus(isolated, { repoId: repoB, pr: 1 }, "provisioning");
          await commitStatus(isolated, { repoId: repoB, pr: 2 }, "deleted", { keyTtlMs: 7 * 24 * HOUR });
          await commitStatus(isolated, { repoId: repoB, pr: 3 }, "failed", { keyTtlMs: 150 });
          await isolated.recordIntent({ repoId: repoB, pr: 4 }, pushIntent("6".repeat(40)), { keyTtlMs: HOUR });
          await sleep(400);
          expect(await isolated.countByStatus()).toEqual({ ready: 2, provisioning: 1, deleted: 1 });
          await commitStatus(isolated, { repoId: repoA, pr: 2 }, "tearing_down");
          expect(await isolated.countByStatus()).toEqual({ ready: 1, tearing_down: 1, provisioning: 1, deleted: 1 });
        } finally {
          await dispose();
        }
      });

      it("counts more environments than one batch reads", async () => {
        const { store: isolated, dispose } = await isolatedStore(backing, "counts-2");
        try {
          const crowded = freshRepo();
          const keys = [
            ...Array.from({ length: 1050 }, (_, i) => ({ repoId: crowded, pr: i + 1 })),
            ...Array.from({ length: 30 }, () => ({ repoId: freshRepo(), pr: 1 })),
          ];
          for (let i = 0; i < keys.length; i += 100) {
            await Promise.all(keys.slice(i, i + 100).map((key) => commitStatus(isolated, key, key.pr % 2 === 0 ? "ready" : "queued")));
          }
          expect(await isolated.countByStatus()).toEqual({ ready: 525, queued: 555 });
        } finally {
          await dispose();
        }
      });

      it("tells the earliest due time, whether or not it has passed", async () => {
        const { store: isolated, dispose } = await isolatedStore(backing, "oldest-1");
        try {
          expect(await isolated.oldestDue()).toBeNull();
          const now = Date.now();
          const early = { repoId: freshRepo(), pr: 1 };
          const late = { repoId: freshRepo(), pr: 2 };
          await commitStatus(isolated, late, "ready", { dueAt: now + HOUR });
          expect(await isolated.oldestDue()).toBe(now + HOUR);
          await commitStatus(isolated, early, "ready", { dueAt: now - 5000 });
          expect(await isolated.oldestDue()).toBe(now - 5000);
          // A claimed environment is hidden until now + hideMs: no longer overdue.
          expect(await isolated.claimDue(now, 10, 2 * HOUR)).toEqual([early]);
          expect(await isolated.oldestDue()).toBe(now + HOUR);
          await commitStatus(isolated, late, "deleted", { dueAt: null });
          expect(await isolated.oldestDue()).toBe(now + 2 * HOUR);
          await commitStatus(isolated, early, "deleted", { dueAt: null });
          expect(await isolated.oldestDue()).toBeNull();
        } finally {
          await dispose();
        }
      });
    });

    describe("export and import", () => {
      it("round-trips every key, value and TTL into an empty store", async () => {
        const key = { repoId: freshRepo(), pr: 21 };
        await store.recordIntent(key, pushIntent("5".repeat(40)), { deliveryId: "rt-1", keyTtlMs: HOUR });
        await store.recordIntent(key, pushIntent("6".repeat(40)), { deliveryId: "rt-2", keyTtlMs: HOUR });
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: fields(key), events: [{ at: "t", event: "created" }], dueAt: Date.now() + HOUR }));
        const exported = await store.exportKeys(key);
        const { store: empty, dispose } = await isolatedStore(backing, "import-1");
        try {
          expect(await empty.load(key)).toBeNull();
          await empty.importKeys(exported);
          const reimported = await empty.exportKeys(key);
          expect(reimported.map(({ key: k, value }) => ({ k, value }))).toEqual(exported.map(({ key: k, value }) => ({ k, value })));
          for (const entry of reimported) {
            const original = exported.find((e) => e.key === entry.key);
            expect(entry.ttlMs).toBeGreaterThan((original?.ttlMs ?? 0) - 5000);
            expect(entry.ttlMs).toBeLessThanOrEqual(original?.ttlMs ?? 0);
          }
          const original = await store.load(key);
          expect(await empty.load(key)).toEqual({ ...original, dueAt: (await empty.load(key))?.dueAt });
          expect(await empty.listKeys(key.repoId)).toEqual([key]);
          // The delivery ids came along: a redelivery is refused there too.
          expect(exported.find((entry) => entry.key.endsWith(":deliveries"))?.value).toEqual([
            ["rt-1", expect.any(Number)],
            ["rt-2", expect.any(Number)],
          ]);
          expect(await empty.recordIntent(key, pushIntent("5".repeat(40)), { deliveryId: "rt-1", keyTtlMs: HOUR })).toBe("duplicate");
        } finally {
          await dispose();
        }
      });
    });

    describe("records as stored", () => {
      /** A key's name as DESIGN §3 lays it out, written out here rather than built by keys.ts. */
      const keyName = (key: EnvKey, part: string) => `${backing.prefix}{${key.repoId}}:env:pr-${key.pr}:${part}`;

      it("exports keys named and encoded as DESIGN §3 lays them out, and imports none under another prefix", async () => {
        const key = { repoId: freshRepo(), pr: 42 };
        const intent = pushIntent("7".repeat(40));
        const event = { at: "t2", event: "ready" };
        await store.recordIntent(key, intent, { keyTtlMs: HOUR });
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "ready" }, events: [event], keyTtlMs: 2 * HOUR }));
        const exported = await store.exportKeys(key);
        expect(exported.map(({ key: name, value }) => [name, value])).toEqual([
          [keyName(key, "status"), "ready"],
          [keyName(key, "inbox"), [encodeIntent(intent)]],
          [keyName(key, "events"), [encodeEvent(event)]],
          [keyName(key, "lease"), "w"],
        ]);
        expect(exported.find((entry) => entry.key.endsWith(":lease"))?.ttlMs).toBeLessThanOrEqual(HOUR);
        await expect(store.importKeys([{ key: `other:{${key.repoId}}:env:pr-42:status`, value: "ready", ttlMs: null }])).rejects.toThrow(/prefix/);
      });

      it("reads the event log entries earlier versions wrote as objects beside the arrays it writes", async () => {
        const key = { repoId: freshRepo(), pr: 1 };
        const earlier = JSON.stringify({ at: "2026-01-01T00:00:00.000Z", event: "provisioning" });
        await store.importKeys([{ key: keyName(key, "events"), value: [earlier], ttlMs: HOUR }]);
        await store.acquireLease(key, "lease", "w", HOUR);
        await store.commit(key, { name: "lease", owner: "w" }, change({ set: { status: "ready" }, events: [{ at: "t", event: "e" }] }));
        const events = (await store.exportKeys(key)).find((entry) => entry.key === keyName(key, "events"));
        expect(events?.value).toEqual([earlier, '["t","e"]']);
        expect((await store.load(key))?.events).toEqual([{ at: "2026-01-01T00:00:00.000Z", event: "provisioning" }, { at: "t", event: "e" }]);
      });

      it("refuses a corrupt field or intent with CorruptRecordError", async () => {
        const corruptStatus = { repoId: freshRepo(), pr: 1 };
        await store.importKeys([{ key: keyName(corruptStatus, "status"), value: "exploded", ttlMs: HOUR }]);
        await expect(store.load(corruptStatus)).rejects.toBeInstanceOf(CorruptRecordError);
        const corruptInbox = { repoId: freshRepo(), pr: 1 };
        await store.importKeys([{ key: keyName(corruptInbox, "inbox"), value: ["not an intent"], ttlMs: HOUR }]);
        await expect(store.load(corruptInbox)).rejects.toBeInstanceOf(CorruptRecordError);
      });
    });

    describe("token buckets", () => {
      it("gives a burst at once, then one token a refill apart, to every replica from one bucket", async () => {
        const bucket = `pace-${freshRepo()}`;
        const limit = { perSecond: 10, burst: 3 };
        expect([await store.takeToken(bucket, limit), await replica.takeToken(bucket, limit), await store.takeToken(bucket, limit)]).toEqual([0, 0, 0]);
        // Empty: each further take is on credit, queued one refill (100 ms) behind the one before.
        const waits = [await replica.takeToken(bucket, limit), await store.takeToken(bucket, limit), await replica.takeToken(bucket, limit)];
        expect(waits[0]).toBeGreaterThan(0);
        expect(waits[0]).toBeLessThanOrEqual(100);
        expect(waits[1]! - waits[0]!).toBeGreaterThan(50);
        expect(waits[2]! - waits[1]!).toBeGreaterThan(50);
        expect(waits[2]).toBeLessThanOrEqual(300);
        // Another bucket is untouched.
        expect(await store.takeToken(`${bucket}-other`, limit)).toBe(0);
      });

      it("refills with time, up to the burst", async () => {
        const bucket = `pace-${freshRepo()}`;
        const limit = { perSecond: 20, burst: 2 };
        for (let i = 0; i < 4; i += 1) await store.takeToken(bucket, limit);
        // Two taken on credit: 100 ms until the bucket is even, then 100 ms to be full again.
        await sleep(350);
        expect([await store.takeToken(bucket, limit), await replica.takeToken(bucket, limit)]).toEqual([0, 0]);
        expect(await store.takeToken(bucket, limit)).toBeGreaterThan(0);
      });

      it("never hands out more than the burst under concurrent takes", async () => {
        const bucket = `pace-${freshRepo()}`;
        const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : replica).takeToken(bucket, { perSecond: 1, burst: 5 })));
        expect(waits.filter((wait) => wait === 0)).toHaveLength(5);
        // The rest queue a second apart: no two share a slot.
        const queued = waits.filter((wait) => wait > 0).sort((a, b) => a - b);
        for (let i = 1; i < queued.length; i += 1) expect(queued[i]! - queued[i - 1]!).toBeGreaterThan(900);
      });
    });

    describe("the replica registry", () => {
      let registry: StateStore;
      let otherReplica: StateStore;
      beforeAll(async () => {
        // A space of its own: the registry is one per store, and these tests count its entries.
        registry = await backing.open("replicas");
        otherReplica = await backing.open("replicas");
      });
      const entry = (owner: string, protocol = 2) => ({ owner, protocol, startedAt: "2026-01-01T00:00:00.000Z" });

      it("registers a replica, seen by every client with the time the store last saw it", async () => {
        const before = Date.now();
        await registry.registerReplica(entry("host-a:1"), HOUR);
        await otherReplica.registerReplica(entry("host-b:2", 3), HOUR);
        const seen = await otherReplica.listReplicas();
        expect(seen).toEqual([
          { ...entry("host-a:1"), lastSeenAt: expect.any(String) },
          { ...entry("host-b:2", 3), lastSeenAt: expect.any(String) },
        ]);
        for (const { lastSeenAt } of seen) {
          // The store's clock, which is this machine's here.
          expect(Date.parse(lastSeenAt)).toBeGreaterThanOrEqual(before - 1000);
          expect(Date.parse(lastSeenAt)).toBeLessThanOrEqual(Date.now() + 1000);
        }
      });

      it("refreshes an entry on a heartbeat: one entry per replica, seen later", async () => {
        await registry.registerReplica(entry("host-c:3"), HOUR);
        const first = (await registry.listReplicas()).find((replica) => replica.owner === "host-c:3");
        await sleep(20);
        await otherReplica.registerReplica(entry("host-c:3"), HOUR);
        const refreshed = (await registry.listReplicas()).filter((replica) => replica.owner === "host-c:3");
        expect(refreshed).toHaveLength(1);
        expect(Date.parse(refreshed[0]!.lastSeenAt)).toBeGreaterThan(Date.parse(first!.lastSeenAt));
      });

      it("lets the entry of a replica that stopped refreshing lapse, and keeps the live ones", async () => {
        await registry.registerReplica(entry("host-dead:4"), 200);
        await registry.registerReplica(entry("host-live:5"), HOUR);
        expect((await registry.listReplicas()).map((replica) => replica.owner)).toContain("host-dead:4");
        await expect.poll(async () => (await otherReplica.listReplicas()).map((replica) => replica.owner), { timeout: 5000, interval: 50 }).not.toContain("host-dead:4");
        expect((await otherReplica.listReplicas()).map((replica) => replica.owner)).toContain("host-live:5");
      });

      it("removes a replica's entry on a clean stop, and nothing else", async () => {
        await registry.registerReplica(entry("host-d:6"), HOUR);
        await registry.registerReplica(entry("host-e:7"), HOUR);
        await otherReplica.removeReplica("host-d:6");
        await otherReplica.removeReplica("never-registered");
        const owners = (await registry.listReplicas()).map((replica) => replica.owner);
        expect(owners).not.toContain("host-d:6");
        expect(owners).toContain("host-e:7");
      });

      it("keeps the registry apart from the environments", async () => {
        expect(await registry.listRepos()).toEqual([]);
        expect(await store.listReplicas()).toEqual([]);
      });
    });

    describe("meta values", () => {
      it("stores small named values with a TTL", async () => {
        await store.setMeta("cursor", "abc", null);
        expect(await replica.getMeta("cursor")).toBe("abc");
        await store.setMeta("short", "x", 100);
        expect(await store.getMeta("short")).toBe("x");
        await sleep(250);
        expect(await store.getMeta("short")).toBeNull();
        expect(await store.getMeta("never-set")).toBeNull();
      });

      it("claims a value once across replicas while it lives, and again once it has expired", async () => {
        const claims = await Promise.all([store, replica, store, replica].map((s, i) => s.claimMeta("budget", `claim-${i}`, 200)));
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(await replica.getMeta("budget")).toBe(`claim-${claims.indexOf(true)}`);
        expect(await store.claimMeta("budget", "later", 200)).toBe(false);
        await sleep(300);
        expect(await replica.claimMeta("budget", "after", 200)).toBe(true);
        expect(await store.getMeta("budget")).toBe("after");
      });
    });
  });
}

async function isolatedStore(backing: ContractBacking, space: string) {
  const store = await backing.open(space);
  return { store, dispose: () => store.close() };
}
