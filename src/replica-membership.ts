import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { startPeriodic } from "./github/periodic.js";
import {
  REGISTRY_MARKER,
  REPLICA_ENTRY_TTL_MS,
  REPLICA_HEARTBEAT_MS,
  sharingRefusal,
  STORE_PROTOCOL,
  StoreSharingError,
  type Replica,
} from "./lifecycle/replicas.js";
import type { StateStore } from "./lifecycle/state-store.js";
import { toIso } from "./lifecycle/ttl.js";

/**
 * This process's place in the store's replica registry (lifecycle/replicas.ts),
 * for the server and for the CLI commands that run the reconciler: it joins
 * once (or is refused), then refreshes its entry every REPLICA_HEARTBEAT_MS
 * until it leaves.
 */
export interface ReplicaMembership {
  /**
   * The first attempt to join: joined, or the store's error when it did not
   * answer (the attempt is made again on every heartbeat until it does).
   * Rejects with StoreSharingError when this replica may not share the store.
   */
  readonly firstAttempt: Promise<FirstAttempt>;
  /** Resolves once joined; rejects with StoreSharingError when refused. */
  readonly joined: Promise<void>;
  /**
   * Resolves (never rejects) when this replica, once joined, may share the
   * store no longer: its entry lapsed (the store was out of reach for longer
   * than an entry lives, or lost it), a replica of another release joined
   * meanwhile, and joining again was refused. The process must stop.
   */
  readonly revoked: Promise<StoreSharingError>;
  /** Stops the heartbeat and removes the entry (a clean stop). */
  leave(): Promise<void>;
}

export interface MembershipOptions {
  store: StateStore;
  /** EPHEMERA_STORE_TAKEOVER: every replica of a release before the registry has been stopped. */
  takeover: boolean;
  log: Logger;
}

type FirstAttempt = { joined: true } | { joined: false; error: unknown };

/**
 * Joins at once, and again on every heartbeat while the store does not
 * answer; once joined, refreshes the entry on every heartbeat. The first
 * attempt is made here and not on the heartbeat's timer, which is unref'd:
 * a process awaiting it with nothing else open would otherwise just exit.
 */
export function startReplicaMembership({ store, takeover, log }: MembershipOptions): ReplicaMembership {
  const self: Replica = { owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`, protocol: STORE_PROTOCOL, startedAt: toIso(Date.now()) };
  let state: "joining" | "joined" | "refused" = "joining";
  const joined = settleable<void>();
  const revoked = settleable<StoreSharingError>();
  // Whoever starts a membership may await only the first attempt; a refusal must not also surface as an unhandled rejection here.
  joined.promise.catch(() => undefined);

  const attempt = async (): Promise<FirstAttempt> => {
    try {
      await join(store, self, takeover);
    } catch (error) {
      if (!(error instanceof StoreSharingError)) return { joined: false, error };
      state = "refused";
      joined.reject(error);
      throw error;
    }
    state = "joined";
    log.info({ owner: self.owner, protocol: self.protocol }, "joined the store's replica registry");
    joined.resolve();
    return { joined: true };
  };
  const firstAttempt = attempt();
  firstAttempt.catch(() => undefined);
  // Its first run repeats the first attempt's registration (or its failure): one write more, at start.
  const heartbeat = firstAttempt.then(
    () =>
      startPeriodic({
        name: "replica-registry",
        everyMs: REPLICA_HEARTBEAT_MS,
        log,
        run: async () => {
          if (state === "joined") {
            if (await heartbeatOnce(store, self)) return;
            // The entry had lapsed: another release may have joined since, so this one looks again as at start.
            try {
              await join(store, self, takeover);
            } catch (error) {
              if (!(error instanceof StoreSharingError)) throw error;
              state = "refused";
              revoked.resolve(error);
            }
            return;
          }
          if (state !== "joining") return;
          const outcome = await attempt();
          if (!outcome.joined) throw outcome.error;
        },
      }),
    () => undefined,
  );

  return {
    firstAttempt,
    joined: joined.promise,
    revoked: revoked.promise,
    async leave() {
      // Waits for an attempt in flight: a replica that joined meanwhile still leaves.
      await (await heartbeat)?.stop();
      if (state !== "joined") return;
      await store.removeReplica(self.owner).catch((error: unknown) => {
        log.warn({ err: error }, `could not remove this replica from the store's registry; its entry lapses by itself within ${REPLICA_ENTRY_TTL_MS / 1000} s`);
      });
    },
  };
}

/**
 * Announces, then looks: the entry is written before the registry is read,
 * so of two replicas of different protocols starting at once the second to
 * look sees the first (both may refuse; never both start). A refused
 * replica takes its entry back. Throws StoreSharingError, or the store's
 * own error.
 */
async function join(store: StateStore, self: Replica, takeover: boolean): Promise<void> {
  await store.registerReplica(self, REPLICA_ENTRY_TTL_MS);
  const [replicas, marker, repos] = await Promise.all([store.listReplicas(), store.getMeta(REGISTRY_MARKER), store.listRepos()]);
  const refusal = sharingRefusal(self, { replicas, hasRegistry: marker !== null, hasEnvironments: repos.length > 0, takeover });
  if (refusal !== undefined) {
    await store.removeReplica(self.owner);
    throw new StoreSharingError(refusal);
  }
  if (marker === null) await markRegistry(store, self);
}

/**
 * Refreshes the entry, and puts the marker back if the store lost it (a
 * Redis restarted without persistence): a replica that joined knows the
 * store is shared safely, and the next one to start must not be asked to
 * take it over. Returns false, writing nothing, when the entry has lapsed:
 * then the replica must join again, and may be refused.
 */
async function heartbeatOnce(store: StateStore, self: Replica): Promise<boolean> {
  if (!(await store.listReplicas()).some((replica) => replica.owner === self.owner)) return false;
  await store.registerReplica(self, REPLICA_ENTRY_TTL_MS);
  if ((await store.getMeta(REGISTRY_MARKER)) === null) await markRegistry(store, self);
  return true;
}

/**
 * Marks the store as one whose replicas register themselves (REGISTRY_MARKER,
 * for good): later starts need no takeover. Records since when, and by which
 * protocol, for an operator who looks.
 */
export async function markRegistry(store: StateStore, by: Pick<Replica, "protocol" | "startedAt">): Promise<void> {
  await store.setMeta(REGISTRY_MARKER, JSON.stringify({ since: by.startedAt, protocol: by.protocol }), null);
}

/** A promise with its resolve and reject at hand (Node 20 has no Promise.withResolvers). */
function settleable<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}
