/**
 * Which releases may share a store. Every process that runs the reconciler
 * (a server, a CLI command that changes environments) registers itself in
 * the store's replica registry with the store protocol it speaks, refreshes
 * its entry on a heartbeat, and removes it on a clean stop; an entry not
 * refreshed lapses by itself. Before it registers, a replica looks at the
 * registry and refuses to start beside a live replica of another protocol:
 * during a rolling upgrade the two releases would otherwise write the store
 * each in its own way. `sharingRefusal` is that decision, with no IO.
 */

/**
 * The store protocol this release speaks. Bump it whenever replicas of the
 * previous release and this one could not share the store safely: a key
 * changes layout or meaning, a script takes other keys, another writer owns
 * a value. Say what changed in PROTOCOL_CHANGES: the refusal quotes it.
 */
export const STORE_PROTOCOL = 2;

/** What each protocol changed from the one before, as a refusal explains it. */
const PROTOCOL_CHANGES: Readonly<Record<number, string>> = {
  2:
    "the notifier now keeps the PR's comment and deployment ids in its own `github` key under the `notify_lock` (no longer in `artifacts` through a `shown` intent), " +
    "and GitHub writes are paced by token buckets in the store (no longer by Probot's Bottleneck in Redis): " +
    "beside each other the two would make a second comment or deployment for a head sha and overrun GitHub's write limits",
};

/** Protocol 1 is every release before the registry: it registers nothing, so it cannot be seen there. */
const FIRST_REGISTERING_PROTOCOL = 2;

/** How often a replica refreshes its entry. */
export const REPLICA_HEARTBEAT_MS = 10_000;
/** An entry not refreshed for this long is a replica that died without removing it: it lapses. */
export const REPLICA_ENTRY_TTL_MS = 3 * REPLICA_HEARTBEAT_MS;

/**
 * The meta value whose presence says the store has had a registry: replicas
 * of every release that writes it register themselves. Written once, never
 * expires.
 */
export const REGISTRY_MARKER = "replica-registry";

/** The variable an operator sets once to take over a store from a release that registers nothing. */
const STORE_TAKEOVER_VARIABLE = "EPHEMERA_STORE_TAKEOVER";

/** A replica as it registers itself. */
export interface Replica {
  /** Names the process for an operator: host, pid and a random part. */
  owner: string;
  protocol: number;
  /** ISO 8601 UTC. */
  startedAt: string;
}

/** A live entry of the registry, as the store returns it. */
export interface SeenReplica extends Replica {
  /** When it last refreshed its entry, by the store's clock (ISO 8601 UTC). */
  lastSeenAt: string;
}

/** What a replica reads from the store before it registers. */
export interface StoreSharingFacts {
  /** The live entries of the registry. */
  replicas: readonly SeenReplica[];
  /** Whether REGISTRY_MARKER is there. */
  hasRegistry: boolean;
  /** Whether any environment has keys (a tombstone counts). */
  hasEnvironments: boolean;
  /** The operator said every replica of a release before the registry is stopped (STORE_TAKEOVER_VARIABLE). */
  takeover: boolean;
}

/** The replica may not share the store; the message says with whom and what to do. */
export class StoreSharingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreSharingError";
  }
}

/** Why `self` may not share the store, or undefined when it may. */
export function sharingRefusal(self: Replica, facts: StoreSharingFacts): string | undefined {
  const others = facts.replicas.filter((replica) => replica.protocol !== self.protocol);
  if (others.length > 0) {
    const listed = others.map((replica) => `${replica.owner} (store protocol ${replica.protocol}, last seen ${replica.lastSeenAt})`).join(", ");
    return (
      `this store is in use by replicas of another release: ${listed}. ` +
      `This release (store protocol ${self.protocol}) cannot share the store with them, because ${incompatibility(self.protocol, others)}: ` +
      `stop those replicas first, then start this one`
    );
  }
  if (facts.hasEnvironments && !facts.hasRegistry && !facts.takeover) {
    return (
      `this store was last written by a release before store protocol ${FIRST_REGISTERING_PROTOCOL} that does not register its replicas, so none of them can be seen; ` +
      `this release cannot share the store with them, because ${PROTOCOL_CHANGES[FIRST_REGISTERING_PROTOCOL]}: ` +
      `stop every replica of it, then start with ${STORE_TAKEOVER_VARIABLE}=1 once`
    );
  }
  return undefined;
}

function incompatibility(protocol: number, others: readonly SeenReplica[]): string {
  if (others.some((replica) => replica.protocol > protocol)) {
    return "a later release writes the store in a form this one does not know";
  }
  const oldest = Math.min(...others.map((replica) => replica.protocol));
  const changes = Object.entries(PROTOCOL_CHANGES)
    .filter(([version]) => Number(version) > oldest && Number(version) <= protocol)
    .map(([, change]) => change);
  return changes.join("; and ");
}
