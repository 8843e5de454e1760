import { envId, type EnvKey } from "../lifecycle/environment.js";
import { FIELD_NAMES, type FieldName, type LeaseName } from "../lifecycle/state-store.js";

/**
 * Every store key is built here (DESIGN §3):
 *
 *   <prefix>{<repositoryId>}:env:pr-<n>:<field>   one environment
 *   <prefix>{<repositoryId>}:<index>              that repository's indexes
 *   <prefix><global index>                        derived, cross-repository
 *
 * The `{…}` hash tag keeps a repository in one Redis Cluster slot, so a
 * script may change an environment and its repository's indexes together.
 * Global keys are in other slots and are only ever derived from the
 * per-repository ones.
 */

/** Keys of one environment beyond its DESIGN fields. */
export type EnvKeyPart = FieldName | LeaseName | "inbox" | "events" | "github" | "deliveries";

/**
 * The keys that hold the environment's state, in the order the Redis
 * scripts take them: every key but `deliveries`, which only remembers the
 * delivery ids recorded lately (for refusing a redelivery) and on its own
 * neither keeps an environment listed nor takes the TTL a commit sets.
 */
export const STATE_KEY_PARTS: readonly EnvKeyPart[] = [...FIELD_NAMES, "inbox", "events", "lease", "teardown_lock", "github", "notify_lock"];

/** The leases: each keeps the TTL it was taken with, and alone lists no environment. */
export const LEASE_PARTS: readonly EnvKeyPart[] = ["lease", "teardown_lock", "notify_lock"] satisfies LeaseName[];

/** The environment's data: its state keys but the leases. A commit gives every one its TTL. */
export const DATA_KEY_PARTS: readonly EnvKeyPart[] = STATE_KEY_PARTS.filter((part) => !LEASE_PARTS.includes(part));

/** Every key of an environment, as exported and imported. */
export const ENV_KEY_PARTS: readonly EnvKeyPart[] = [...STATE_KEY_PARTS, "deliveries"];

export interface Keys {
  readonly prefix: string;
  /** `<prefix>{<repoId>}:env:pr-<n>:` — every key of the environment starts with it. */
  envBase(key: EnvKey): string;
  env(key: EnvKey, part: EnvKeyPart): string;
  /** Reads an `env` key name back; null for any other key (another prefix, an index). */
  parseEnv(name: string): { key: EnvKey; part: EnvKeyPart } | null;
  /** Sorted set: member `pr-<n>`, score the time it is next due (ms). */
  repoDue(repoId: number): string;
  /** Set of `pr-<n>` that have keys. */
  repoEnvs(repoId: number): string;
  /** Sorted set: member repository id, score the earliest due time in it. */
  globalDue(): string;
  /** Set of repository ids with environments. */
  globalRepos(): string;
  /**
   * Admission (one `{global}` slot, so one script counts atomically): sorted
   * sets of `<repoId>/pr-<n>` by arrival time, admitted and waiting, and a
   * hash of admitted counts per repository. Derived from the environments'
   * statuses, and rebuilt from them by the garbage collector.
   */
  globalActive(): string;
  globalQueue(): string;
  globalActivePerRepo(): string;
  meta(name: string): string;
  /**
   * The replica registry (see lifecycle/replicas.ts): a hash of owner to the
   * replica as JSON, with its last-seen and expiry times (ms). One key, so
   * its scripts keep to one Redis Cluster slot.
   */
  replicaRegistry(): string;
  /** A token bucket (see `StateStore.takeToken`): a hash of `tokens` and `at` (ms). */
  bucket(name: string): string;
  /** The pub/sub channel an intent recorded is announced on (see `StateStore.subscribeWakes`); a channel, not a key. */
  wakeChannel(): string;
}

export function makeKeys(prefix: string): Keys {
  const repo = (repoId: number) => `${prefix}{${repoId}}`;
  const env = (key: EnvKey, part: EnvKeyPart) => `${repo(key.repoId)}:env:${envId(key.pr)}:${part}`;
  return {
    prefix,
    envBase: (key) => `${repo(key.repoId)}:env:${envId(key.pr)}:`,
    env,
    parseEnv: (name) => {
      const match = name.startsWith(prefix) ? /^\{(\d+)\}:env:pr-(\d+):(\w+)$/.exec(name.slice(prefix.length)) : null;
      const key = { repoId: Number(match?.[1]), pr: Number(match?.[2]) };
      const part = ENV_KEY_PARTS.find((known) => known === match?.[3]);
      // Only a name `env` builds reads back (not `pr-007`).
      return part && env(key, part) === name ? { key, part } : null;
    },
    repoDue: (repoId) => `${repo(repoId)}:due`,
    repoEnvs: (repoId) => `${repo(repoId)}:envs`,
    globalDue: () => `${prefix}due`,
    globalRepos: () => `${prefix}repos`,
    globalActive: () => `${prefix}{global}:active`,
    globalQueue: () => `${prefix}{global}:queue`,
    globalActivePerRepo: () => `${prefix}{global}:active-per-repo`,
    meta: (name) => `${prefix}meta:${name}`,
    replicaRegistry: () => `${prefix}meta:replicas`,
    bucket: (name) => `${prefix}bucket:${name}`,
    wakeChannel: () => `${prefix}wake`,
  };
}

/** `<repoId>/pr-<n>`: how global indexes name an environment. */
export function globalMember(key: EnvKey): string {
  return `${key.repoId}/${envId(key.pr)}`;
}

/** The Lua pattern (`string.match`) that reads the repository id back from a global member, for the admission scripts. */
export const GLOBAL_MEMBER_REPO_ID_LUA = "^(%d+)/";

/** How many of the first waiters a release of an admitted place hands back to be woken. */
export const ADMISSION_WAKE_LIMIT = 10;

export function parseGlobalMember(member: string): EnvKey {
  const match = /^(\d+)\/pr-(\d+)$/.exec(member);
  if (!match) throw new Error(`not an environment member: ${member}`);
  return { repoId: Number(match[1]), pr: Number(match[2]) };
}

/** Reads `pr-<n>` back into a PR number. */
export function parseEnvId(member: string): number {
  const match = /^pr-(\d+)$/.exec(member);
  if (!match) throw new Error(`not an environment id: ${member}`);
  return Number(match[1]);
}
