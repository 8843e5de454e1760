import type { DesiredState } from "./desired.js";
import type {
  Artifacts,
  Checkpoints,
  EnvConfig,
  EnvKey,
  EventLogEntry,
  Status,
} from "./environment.js";
import type { Intent } from "./intent.js";
import type { Replica, SeenReplica } from "./replicas.js";
import type { Shown } from "./shown.js";

/**
 * The one port through which everything reads and writes lifecycle state.
 * Two adapters implement it (Redis, embedded SQLite) and both pass
 * test/store/store.contract.ts unchanged. Every method that changes more
 * than one key does so atomically.
 */

/** The fields of an environment (DESIGN §3) plus Ephemera's own `desired`. */
export interface EnvFields {
  status: Status;
  config: EnvConfig;
  artifacts: Artifacts;
  /** ISO 8601 UTC. */
  expires_at: string;
  checkpoints: Checkpoints;
  desired: DesiredState;
}
export type FieldName = keyof EnvFields;
export const FIELD_NAMES: readonly FieldName[] = [
  "status",
  "config",
  "artifacts",
  "expires_at",
  "checkpoints",
  "desired",
];

/** What `load` returns: the fields that exist, the unread inbox and the recent log. */
export interface EnvSnapshot {
  key: EnvKey;
  fields: Partial<EnvFields>;
  /** Intents recorded and not yet folded, oldest first. */
  inbox: Intent[];
  /** Most recent last; capped (see `EVENT_LOG_LIMIT`). */
  events: EventLogEntry[];
  /** Next time the reconciler must look at it (ms since epoch), or null. */
  dueAt: number | null;
  /** Where the PR shows it, as the notifier recorded it (`recordShown`); absent when never. */
  shown?: Shown;
}

export const EVENT_LOG_LIMIT = 30;

/**
 * `lease`: who reconciles the environment now. `teardown_lock`: who tears it
 * down (DESIGN §3). `notify_lock`: who writes the PR's comment and
 * deployments on GitHub. Each expires by itself; a holder whose lease
 * expired can no longer commit or record (fencing).
 */
export type LeaseName = "lease" | "teardown_lock" | "notify_lock";

export interface Fence {
  name: LeaseName;
  owner: string;
}

export interface Change {
  /** Fields to write; fields not named stay as they are. */
  set?: Partial<EnvFields>;
  /** How many inbox entries, from the oldest, this change has folded in and removes. */
  consumed?: number;
  /** Appended to the event log (which keeps the last EVENT_LOG_LIMIT). */
  events?: EventLogEntry[];
  /**
   * Next time the reconciler must look at it (ms since epoch); null takes it
   * out of the due index. Intents still unread after this change (recorded
   * after the load) keep it due now whatever this says, so none is stranded.
   */
  dueAt: number | null;
  /** Store TTL for every key of the environment, from now. */
  keyTtlMs: number;
}

export type CommitResult = "committed" | "fenced";

export interface RecordOptions {
  /**
   * `X-GitHub-Delivery`; a delivery recorded once is refused ("duplicate")
   * for `keyTtlMs` after it was recorded. The ids are kept per environment
   * (its `deliveries` key), and those older than `keyTtlMs` are dropped
   * whenever another is recorded: what is kept is bounded by the deliveries
   * of that window.
   */
  deliveryId?: string;
  /** How long a delivery id is remembered, and the least store TTL the inbox keeps. */
  keyTtlMs: number;
}

export interface AdmissionLimits {
  perRepo: number;
  global: number;
}

export interface Admission {
  admitted: boolean;
  /** 1-based place in the queue (of every waiting environment, by arrival) when not admitted; 0 when admitted. */
  position: number;
}

/** One key as it is in the store, for `export` / `import`. */
export interface ExportedKey {
  key: string;
  /** The stored string (JSON for JSON fields) or, for lists and sets, an array of them; a sorted set: [member, score] pairs. */
  value: string | string[] | Array<[string, number]>;
  /** Remaining store TTL in ms; null when the key never expires. */
  ttlMs: number | null;
}

/** A token bucket's shape: it refills at `perSecond` tokens a second and holds at most `burst`. */
export interface TokenBucketLimit {
  perSecond: number;
  burst: number;
}

export interface StateStore {
  /** Which adapter, for /readyz, logs and the test output. */
  readonly kind: "redis" | "sqlite";

  /**
   * Appends an intent to the environment's inbox and marks it due now, in one
   * round trip. Returns "duplicate" (and changes nothing) when the delivery id
   * was recorded before.
   */
  recordIntent(key: EnvKey, intent: Intent, options: RecordOptions): Promise<"recorded" | "duplicate">;

  /**
   * Calls `onWake` whenever any process records an intent in this store
   * (with its environment), until `close`: a worker's reconciler looks for due
   * work at once instead of at its idle poll. Only a store that processes
   * share has it; a store one process owns has nobody else to hear from.
   */
  subscribeWakes?(onWake: (key: EnvKey) => void): Promise<void>;

  /** Everything known about one environment, or null when no key of it exists. */
  load(key: EnvKey): Promise<EnvSnapshot | null>;

  /** Takes the lease if nobody holds it (or `owner` does already); true when held. */
  acquireLease(key: EnvKey, name: LeaseName, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease; false (and nothing changed) when `owner` no longer holds it. */
  renewLease(key: EnvKey, name: LeaseName, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` holds it. */
  releaseLease(key: EnvKey, name: LeaseName, owner: string): Promise<void>;

  /**
   * Applies a change atomically, only while `fence` is held: a worker whose
   * lease expired gets "fenced" and nothing is written.
   */
  commit(key: EnvKey, fence: Fence, change: Change): Promise<CommitResult>;

  /**
   * Replaces where the PR shows the environment (its `github` key), only
   * while `fence` (the `notify_lock`) is held; "fenced" and nothing written
   * otherwise. A commit never writes it, and every commit extends its TTL
   * with the environment's other keys; written here it takes the TTL of the
   * environment's `status` (or of the fence, when there is no status yet).
   */
  recordShown(key: EnvKey, fence: Fence, shown: Shown): Promise<CommitResult>;

  /**
   * Environments due at `now` (at most `limit`), oldest due first. Each one
   * returned is pushed `hideMs` into the future so other workers skip it while
   * this one works; a worker that dies lets it come back by itself. Its cost
   * grows with the number due, not the number stored.
   */
  claimDue(now: number, limit: number, hideMs: number): Promise<EnvKey[]>;

  /** Marks an environment due at `at` (earlier than it already is, or newly). */
  markDue(key: EnvKey, at: number): Promise<void>;

  /** Keys of the environments of one repository, or of all. */
  listKeys(repoId?: number): Promise<EnvKey[]>;

  /** Repositories that have environments. */
  listRepos(): Promise<number[]>;

  /**
   * Takes a place in the active set within both limits. First come, first
   * served: an environment waits while one that arrived earlier (by the
   * `arrivalAt` of its first attempt) could be admitted now; one held back
   * only by its own repository's limit does not block the others. Admitting
   * one already admitted returns admitted. Counting is atomic: several
   * replicas never overshoot.
   */
  admit(key: EnvKey, arrivalAt: number, limits: AdmissionLimits): Promise<Admission>;
  /**
   * Leaves the active set and the queue. Returns the first waiters (at most
   * 10, oldest first) so the caller can wake them.
   */
  releaseAdmission(key: EnvKey): Promise<EnvKey[]>;
  /** How many environments hold a place, and how many wait. */
  admissionCounts(): Promise<{ active: number; queued: number }>;

  /**
   * How many environments have each status, live ones and `deleted`
   * tombstones alike; one with no status yet (an intent not yet reconciled)
   * is not counted, nor one whose keys expired. For /metrics at every
   * scrape: it reads each environment's status once, never the whole
   * keyspace. Statuses no environment has are absent.
   */
  countByStatus(): Promise<Partial<Record<Status, number>>>;

  /**
   * The earliest time (ms) in the due index, past or future; null when
   * nothing is due ever. An environment a worker has claimed counts at the
   * time it was hidden until. For the reconciler-lag metric; cheap whatever
   * the number stored.
   */
  oldestDue(): Promise<number | null>;

  /** Every key of an environment as stored, with its TTL. */
  exportKeys(key: EnvKey): Promise<ExportedKey[]>;
  /** Writes keys as `exportKeys` returned them (for reproducing a case on another store). */
  importKeys(keys: ExportedKey[]): Promise<void>;

  /** Small named values outside any environment (cursors, caches), with a TTL. */
  getMeta(name: string): Promise<string | null>;
  setMeta(name: string, value: string, ttlMs: number | null): Promise<void>;
  /**
   * Sets a meta value only when none is live, atomically across replicas: true
   * for the one caller that set it, false while an earlier one lives. A budget
   * ("one reply per 10 minutes") or a once-only mark, shared by every replica.
   */
  claimMeta(name: string, value: string, ttlMs: number): Promise<boolean>;

  /**
   * Takes one token from the named bucket (created full), refilled by the
   * store's own clock, so every replica sees one bucket. The token is always
   * taken, on credit when the bucket is empty: the answer is how many ms the
   * caller must wait before acting (0 when a token was there), and callers
   * who take on credit queue up one refill apart. An idle bucket expires by
   * itself once it would be full again: a store that lost it (a Redis
   * restart) starts it full, and nothing needs setting up again.
   */
  takeToken(bucket: string, limit: TokenBucketLimit): Promise<number>;

  /**
   * Registers the replica in the store's replica registry, or refreshes its
   * entry: last seen now, by the store's clock, so replicas with skewed
   * clocks agree. An entry not refreshed within `ttlMs` lapses by itself
   * (its replica died); every entry that has lapsed is removed here.
   */
  registerReplica(replica: Replica, ttlMs: number): Promise<void>;
  /** The registry's live entries, oldest start first. */
  listReplicas(): Promise<SeenReplica[]>;
  /** Removes the replica's entry (a clean stop); nothing when there is none. */
  removeReplica(owner: string): Promise<void>;

  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
