import { Cluster } from "ioredis";
import type { RedisNodes } from "../../config/env.js";
import { envId, type EnvKey, type Status } from "../../lifecycle/environment.js";
import type { Intent } from "../../lifecycle/intent.js";
import type { Replica, SeenReplica } from "../../lifecycle/replicas.js";
import type { Shown } from "../../lifecycle/shown.js";
import { decodeEvent, decodeFields, decodeIntent, decodeShown, encodeEvent, encodeFields, encodeIntent, encodeShown } from "../field-codec.js";
import { makeKeys, parseEnvId, type Keys } from "../keys.js";
import {
  EVENT_LOG_LIMIT,
  FIELD_NAMES,
  type Admission,
  type AdmissionLimits,
  type Change,
  type CommitResult,
  type EnvSnapshot,
  type ExportedKey,
  type Fence,
  type LeaseName,
  type RecordOptions,
  type StateStore,
  type TokenBucketLimit,
} from "../../lifecycle/state-store.js";
import { TurnBatch, type Outcome } from "../turn-batch.js";
import { admission } from "./admission.js";
import { claimDue } from "./claim-due.js";
import { closeClient, connectionErrorEvents, openClient, pingWithin, type RedisClient } from "./connection.js";
import { countByStatus } from "./count-by-status.js";
import { commitKeyNames, envKeyNames, exportEnvKeys, importEnvKeys } from "./env-keys.js";
import { GlobalIndex, type RepoDueState } from "./global-index.js";
import { asNumber, asScore, asStrings, execAll, firstScore } from "./replies.js";
import { decodeReply } from "./script-replies.js";
import { callScript, defineScripts } from "./scripts.js";
import { SlotBatch } from "./slot-batch.js";

const DAY = 86_400_000;

export interface RedisStoreOptions {
  /** Redis to connect to; the store owns that client and closes it. */
  url?: string;
  /** Or a Redis Cluster, or a master behind Sentinel, to connect to; likewise owned. */
  nodes?: RedisNodes;
  /** Or a client to use (not closed by `close`). It must not set a `keyPrefix`: keys carry `prefix`. */
  client?: RedisClient;
  /** Put before every key (DESIGN §3), e.g. `ephemera:`. */
  prefix: string;
  /** Connection errors, and global index updates that failed after the change they follow; reported, never thrown. */
  onError?: (error: Error) => void;
  /** How long `ping` waits before it rejects (default 1.5 s). */
  pingTimeoutMs?: number;
  /** TTL of the admission keys, refreshed on every admit and release (default 30 days). */
  admissionTtlMs?: number;
  /**
   * TTL for an index key written by an operation that carries none: markDue
   * of an environment with no keys, import of keys without TTL (default 7 days).
   */
  indexTtlMs?: number;
}

/** An intent waiting for its turn's batch, encoded. */
interface PendingIntent {
  key: EnvKey;
  encoded: string;
  deliveryId: string;
  keyTtlMs: number;
  at: number;
}

/** The Redis adapter, with the repair the other adapter does not need. */
export interface RedisStore extends StateStore {
  readonly kind: "redis";
  /** Processes share a Redis: each hears of the intents the others record. */
  subscribeWakes(onWake: (key: EnvKey) => void): Promise<void>;
  /** Rebuilds the global due index and repository set from the per-repository indexes (DESIGN §3: derived and repairable). */
  rebuildGlobalIndexes(): Promise<void>;
}

/**
 * The StateStore on Redis 7 or later. Every change to an environment is one
 * script over keys of its repository's `{repoId}` slot (cluster-safe); the
 * global indexes are derived afterwards (see GlobalIndex). Opening does not
 * wait for Redis: commands fail fast while it is away (see openClient).
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  if (!options.client && !options.url && !options.nodes) throw new Error("createRedisStore needs a url, nodes or a client");
  return new RedisStateStore(options);
}

class RedisStateStore implements RedisStore {
  readonly kind = "redis";
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly keys: Keys;
  private readonly indexTtlMs: number;
  private readonly global: GlobalIndex;
  private readonly admission: ReturnType<typeof admission>;
  private readonly reportError = (error: Error) => this.options.onError?.(error);
  private readonly intents = new TurnBatch((batch: PendingIntent[]) => this.recordBatch(batch));
  /** The connection `subscribeWakes` listens on: a subscribed connection can send nothing else. */
  private subscriber: RedisClient | undefined;

  constructor(private readonly options: RedisStoreOptions) {
    this.ownsClient = !options.client;
    this.client = options.client ?? openClient(options.nodes ?? { url: options.url as string });
    this.keys = makeKeys(options.prefix);
    this.indexTtlMs = options.indexTtlMs ?? 7 * DAY;
    this.global = new GlobalIndex(this.client, this.keys, this.indexTtlMs);
    this.admission = admission(this.client, this.keys, options.admissionTtlMs ?? 30 * DAY);
    // An unhandled 'error' event would crash the process: a client of our own
    // always gets a listener, a caller's client only when onError asks for them.
    if (this.ownsClient || options.onError) for (const event of connectionErrorEvents(this.client)) this.client.on(event, this.reportError);
    defineScripts(this.client);
  }

  async recordIntent(key: EnvKey, intent: Intent, { deliveryId = "", keyTtlMs }: RecordOptions): Promise<"recorded" | "duplicate"> {
    return this.intents.add({ key, encoded: encodeIntent(intent), deliveryId, keyTtlMs, at: Date.now() });
  }

  /**
   * One round trip for the intents recorded in one turn of the event loop
   * (see TurnBatch): each repository's script, then the global indexes they
   * feed, once per repository (the earliest time, the longest TTL). The
   * global updates run for a duplicate too; at worst the repository is
   * looked at once for nothing (see GlobalIndex). On a cluster the scripts
   * and the global indexes are in different slots: two round trips, the
   * scripts' pipelines first (the global due score must not land before the
   * repository's own, see GlobalIndex.settle).
   */
  private async recordBatch(batch: PendingIntent[]): Promise<Array<Outcome<"recorded" | "duplicate">>> {
    const writes = new SlotBatch(this.client);
    const repos = new Map<number, { at: number; ttlMs: number; commands: [number, number] }>();
    for (const { key, encoded, deliveryId, keyTtlMs, at } of batch) {
      const { repoId } = key;
      const scriptKeys = [this.keys.env(key, "inbox"), this.keys.repoEnvs(repoId), this.keys.repoDue(repoId), this.keys.env(key, "deliveries")];
      writes.add(scriptKeys[0] as string, (pipeline) => callScript(pipeline, "record-intent", scriptKeys, [encoded, envId(key.pr), at, keyTtlMs, deliveryId]));
      const repo = repos.get(repoId);
      repos.set(repoId, { at: Math.min(repo?.at ?? at, at), ttlMs: Math.max(repo?.ttlMs ?? 0, keyTtlMs), commands: [0, 0] });
    }
    writes.barrier();
    for (const [repoId, repo] of repos) {
      const first = writes.length;
      this.global.queueDueBy(writes, repoId, repo.at, repo.ttlMs);
      this.global.queueRepo(writes, repoId, repo.ttlMs);
      repo.commands = [first, writes.length];
    }
    // The wake, in the same round trip: after the scripts, so a worker woken by it finds the intent. PUBLISH names no
    // key, so on a cluster it rides in the global due index's pipeline, and reaches every node's subscribers from there.
    const channel = this.keys.wakeChannel();
    for (const inbox of new Set(batch.map(({ key }) => this.keys.env(key, "inbox")))) {
      writes.add(this.keys.globalDue(), (pipeline) => pipeline.publish(channel, inbox));
    }
    const replies = await writes.exec();
    return batch.map(({ key }, i) => {
      // A record fails when its script failed, or when the global index updates it needs did.
      const [from, to] = repos.get(key.repoId)?.commands ?? [0, 0];
      const error = replies[i]?.[0] ?? replies.slice(from, to).find(([failed]) => failed)?.[0];
      return error ? { error } : { value: decodeReply("record-intent", replies[i]?.[1]) };
    });
  }

  async load(key: EnvKey): Promise<EnvSnapshot | null> {
    // A transaction, so a commit cannot land between reading the fields and the inbox.
    const read = this.client
      .multi()
      .mget(...FIELD_NAMES.map((field) => this.keys.env(key, field)))
      .lrange(this.keys.env(key, "inbox"), 0, -1)
      .lrange(this.keys.env(key, "events"), 0, -1)
      .zscore(this.keys.repoDue(key.repoId), envId(key.pr))
      .exists(this.keys.env(key, "lease"), this.keys.env(key, "teardown_lock"))
      .get(this.keys.env(key, "github"));
    const [rawFields, rawInbox, rawEvents, score, leases, rawShown] = await execAll(read);
    const values = rawFields as Array<string | null>;
    const inbox = asStrings(rawInbox);
    const events = asStrings(rawEvents);
    if (values.every((value) => value === null) && inbox.length === 0 && events.length === 0 && leases === 0) return null;
    return {
      key,
      fields: decodeFields(Object.fromEntries(FIELD_NAMES.map((field, i) => [field, values[i]]))),
      inbox: inbox.map(decodeIntent),
      events: events.map(decodeEvent),
      dueAt: asScore(score),
      ...(typeof rawShown === "string" ? { shown: decodeShown(rawShown) } : {}),
    };
  }

  async acquireLease(key: EnvKey, name: LeaseName, owner: string, ttlMs: number): Promise<boolean> {
    return callScript(this.client, "hold-lease", [this.keys.env(key, name)], [owner, ttlMs, "take"]);
  }

  async renewLease(key: EnvKey, name: LeaseName, owner: string, ttlMs: number): Promise<boolean> {
    return callScript(this.client, "hold-lease", [this.keys.env(key, name)], [owner, ttlMs, "renew"]);
  }

  async releaseLease(key: EnvKey, name: LeaseName, owner: string): Promise<void> {
    await callScript(this.client, "release-lease", [this.keys.env(key, name)], [owner]);
  }

  async commit(key: EnvKey, fence: Fence, change: Change): Promise<CommitResult> {
    const writes = encodeFields(change.set ?? {});
    const { names, keyIndex } = commitKeyNames(this.keys, key, fence.name);
    const reply = await callScript(this.client, "commit", names, [
      fence.owner,
      envId(key.pr),
      change.keyTtlMs,
      change.dueAt ?? "",
      Date.now(),
      change.consumed ?? 0,
      EVENT_LOG_LIMIT,
      writes.length,
      ...writes.flatMap(([field, value]) => [keyIndex(field), value]),
      ...(change.events ?? []).map(encodeEvent),
    ]);
    if (reply.result === "fenced") return "fenced";
    await this.settleGlobal([{ repoId: key.repoId, min: reply.min, ttlMs: change.keyTtlMs, hasEnvs: true }]);
    return "committed";
  }

  async recordShown(key: EnvKey, fence: Fence, shown: Shown): Promise<CommitResult> {
    const keys = [this.keys.env(key, fence.name), this.keys.env(key, "github"), this.keys.env(key, "status")];
    return callScript(this.client, "record-shown", keys, [fence.owner, encodeShown(shown)]);
  }

  claimDue(now: number, limit: number, hideMs: number): Promise<EnvKey[]> {
    return claimDue(this.client, this.keys, (states) => this.settleGlobal(states), { now, limit, hideMs });
  }

  async markDue(key: EnvKey, at: number): Promise<void> {
    const { repoId } = key;
    const ttlMs = await callScript(this.client, "mark-due", [this.keys.repoDue(repoId), this.keys.repoEnvs(repoId)], [envId(key.pr), at, this.indexTtlMs]);
    // After the script, as recordIntent does, so GlobalIndex.settle's re-read sees it.
    await execAll(this.global.queueDueBy(new SlotBatch(this.client), repoId, at, ttlMs));
  }

  async listKeys(repoId?: number): Promise<EnvKey[]> {
    const repoIds = repoId === undefined ? await this.listRepos() : [repoId];
    const read = new SlotBatch(this.client);
    for (const id of repoIds) read.add(this.keys.repoEnvs(id), (pipeline) => pipeline.smembers(this.keys.repoEnvs(id)));
    const envs = (await execAll(read)).flatMap((reply, i) =>
      asStrings(reply).map((member): EnvKey => ({ repoId: repoIds[i] as number, pr: parseEnvId(member) })),
    );

    // The envs set outlives its environments: keep those with a key left, and forget the rest.
    const check = new SlotBatch(this.client);
    for (const env of envs) check.add(this.keys.envBase(env), (pipeline) => pipeline.exists(...envKeyNames(this.keys, env)));
    const live = (await execAll(check)).map((count) => asNumber(count) > 0);
    const forget = new SlotBatch(this.client);
    envs.forEach((env, i) => {
      const scriptKeys = [this.keys.repoEnvs(env.repoId), ...envKeyNames(this.keys, env)];
      if (!live[i]) forget.add(scriptKeys[0] as string, (pipeline) => callScript(pipeline, "forget-env", scriptKeys, [envId(env.pr)]));
    });
    if (forget.length > 0) await execAll(forget);
    return envs.filter((_, i) => live[i]).sort((a, b) => a.repoId - b.repoId || a.pr - b.pr);
  }

  async listRepos(): Promise<number[]> {
    const repoIds = asStrings(await this.client.smembers(this.keys.globalRepos())).map(Number);
    const check = new SlotBatch(this.client);
    for (const repoId of repoIds) check.add(this.keys.repoEnvs(repoId), (pipeline) => pipeline.exists(this.keys.repoEnvs(repoId)));
    const live = (await execAll(check)).map((count) => asNumber(count) > 0);
    await this.global.forgetRepos(repoIds.filter((_, i) => !live[i]));
    return repoIds.filter((_, i) => live[i]).sort((a, b) => a - b);
  }

  admit(key: EnvKey, arrivalAt: number, limits: AdmissionLimits): Promise<Admission> {
    return this.admission.admit(key, arrivalAt, limits);
  }

  releaseAdmission(key: EnvKey): Promise<EnvKey[]> {
    return this.admission.release(key);
  }

  admissionCounts(): Promise<{ active: number; queued: number }> {
    return this.admission.counts();
  }

  countByStatus(): Promise<Partial<Record<Status, number>>> {
    return countByStatus(this.client, this.keys);
  }

  /**
   * The global due index's first score: each repository is scored by the
   * earliest due time in it. It is derived, written just after the
   * repository's own change, so it may lag that change by one commit, and it
   * may be earlier than the truth until claimDue corrects it (see
   * GlobalIndex): never later.
   */
  async oldestDue(): Promise<number | null> {
    return firstScore(await this.client.zrange(this.keys.globalDue(), 0, "0", "WITHSCORES"));
  }

  exportKeys(key: EnvKey): Promise<ExportedKey[]> {
    return exportEnvKeys(this.client, this.keys, key);
  }

  importKeys(keys: ExportedKey[]): Promise<void> {
    return importEnvKeys(this.client, this.keys, this.global, keys, this.indexTtlMs);
  }

  async getMeta(name: string): Promise<string | null> {
    return this.client.get(this.keys.meta(name));
  }

  async setMeta(name: string, value: string, ttlMs: number | null): Promise<void> {
    if (ttlMs === null) await this.client.set(this.keys.meta(name), value);
    else await this.client.set(this.keys.meta(name), value, "PX", ttlMs);
  }

  async claimMeta(name: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(this.keys.meta(name), value, "PX", ttlMs, "NX")) === "OK";
  }

  async takeToken(bucket: string, limit: TokenBucketLimit): Promise<number> {
    return callScript(this.client, "take-token", [this.keys.bucket(bucket)], [limit.perSecond, limit.burst]);
  }

  async registerReplica(replica: Replica, ttlMs: number): Promise<void> {
    const { owner, protocol, startedAt } = replica;
    await callScript(this.client, "register-replica", [this.keys.replicaRegistry()], [JSON.stringify({ owner, protocol, startedAt }), ttlMs]);
  }

  listReplicas(): Promise<SeenReplica[]> {
    return callScript(this.client, "list-replicas", [this.keys.replicaRegistry()], []);
  }

  async removeReplica(owner: string): Promise<void> {
    await this.client.hdel(this.keys.replicaRegistry(), owner);
  }

  rebuildGlobalIndexes(): Promise<void> {
    return this.global.rebuild();
  }

  ping(): Promise<void> {
    return pingWithin(this.client, this.options.pingTimeoutMs ?? 1500);
  }

  /**
   * On a connection of its own (the store's target, or a copy of the client
   * given), subscribed again at each (re)connection. A wake lost while it
   * is away costs only time: the reconciler's idle poll finds the intent.
   */
  async subscribeWakes(onWake: (key: EnvKey) => void): Promise<void> {
    if (this.subscriber !== undefined) throw new Error("subscribeWakes is called once per store");
    const given = this.client;
    // `duplicate` once per client class: TypeScript cannot call it on their union.
    const subscriber = this.ownsClient ? openClient(this.options.nodes ?? { url: this.options.url as string }) : given instanceof Cluster ? given.duplicate() : given.duplicate();
    this.subscriber = subscriber;
    for (const event of connectionErrorEvents(subscriber)) subscriber.on(event, this.reportError);
    const channel = this.keys.wakeChannel();
    subscriber.on("message", (from: string, inbox: string) => {
      const named = from === channel ? this.keys.parseEnv(inbox) : null;
      if (named) onWake(named.key);
    });
    const subscribe = () => subscriber.subscribe(channel).then(() => undefined, this.reportError);
    subscriber.on("ready", () => void subscribe());
    await subscribe();
  }

  async close(): Promise<void> {
    if (this.subscriber !== undefined) await closeClient(this.subscriber);
    if (this.ownsClient) await closeClient(this.client);
    else for (const event of connectionErrorEvents(this.client)) this.client.off(event, this.reportError);
  }

  /**
   * After a commit or a claim has changed the repository, the global index
   * only follows. A failure here is reported, not thrown: the caller must
   * not retry a commit that happened (it would consume the inbox twice). A
   * global score left stale is at worst as late as the repository's previous
   * earliest due time, when claimDue looks at it and corrects it; the next
   * write to the repository or rebuildGlobalIndexes corrects it sooner.
   */
  private async settleGlobal(states: RepoDueState[]): Promise<void> {
    try {
      await this.global.settle(states);
    } catch (error) {
      this.reportError(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
