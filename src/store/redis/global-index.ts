import type { ChainableCommander, Redis } from "ioredis";
import type { Keys } from "../keys.js";
import { asNumber, asStrings, execAll, firstScore, keepTtl, queueEarliest } from "./replies.js";

/**
 * The cross-repository indexes: `<prefix>due` (repository id scored by the
 * earliest due time in it) and `<prefix>repos`. They live outside every
 * repository's `{repoId}` slot, so no script may change them together with a
 * repository's keys (DESIGN §3). They are derived: written after the
 * repository's own script, and rebuilt from the per-repository indexes when
 * lost.
 *
 * What is kept: a repository's global due score is never later than the
 * earliest due time in its own due set. Earlier is harmless (claimDue peeks
 * the repository, finds nothing due yet, and corrects the score); later would
 * hide due work.
 */

/** A repository's due set as its own script just left it. */
export interface RepoDueState {
  repoId: number;
  /** The earliest score in the repository's due set; null when it is empty. */
  min: number | null;
  /** The global keys live at least this long from now (they must outlive what they index). */
  ttlMs: number;
  /** The repository has environments: (re)add it to the global repos set too. */
  hasEnvs?: boolean;
}

export class GlobalIndex {
  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    /** TTL for a global key when the repository's own keys report none. */
    private readonly fallbackTtlMs: number,
  ) {}

  /** Queues "this repository is due at `at` at the latest": ZADD LT only ever brings it forward, so it needs no verification. */
  queueDueBy(pipeline: ChainableCommander, repoId: number, at: number, ttlMs: number): ChainableCommander {
    pipeline.zadd(this.keys.globalDue(), "LT", at, String(repoId));
    return keepTtl(pipeline, this.keys.globalDue(), ttlMs);
  }

  queueRepo(pipeline: ChainableCommander, repoId: number, ttlMs: number): ChainableCommander {
    pipeline.sadd(this.keys.globalRepos(), String(repoId));
    return keepTtl(pipeline, this.keys.globalRepos(), ttlMs);
  }

  /**
   * Sets each repository's global due score to the minimum its script
   * returned, which may be later than before (a commit or a claim pushed the
   * environment back) or gone (nothing left due), so it cannot be ZADD LT.
   *
   * Set, then verify. Between the script's reply and this write, a concurrent
   * recordIntent or markDue may bring the repository forward: its script runs,
   * then its ZADD LT lands on the global index, and this plain write would
   * then overwrite it with the later score, so its environment would wait
   * for nothing. Hence the same pipeline re-reads the repository's minimum
   * after writing, and a second ZADD LT restores an earlier one. A concurrent
   * writer whose ZADD LT lands after this write needs no help (LT); one whose
   * ZADD landed before it had run its script before the re-read, so the
   * re-read sees it.
   */
  async settle(states: RepoDueState[]): Promise<void> {
    if (states.length === 0) return;
    const write = this.client.pipeline();
    const rereadAt: number[] = [];
    for (const state of states) {
      const ttlMs = this.ttlFor(state);
      if (state.min === null) {
        write.zrem(this.keys.globalDue(), String(state.repoId));
      } else {
        write.zadd(this.keys.globalDue(), state.min, String(state.repoId));
        keepTtl(write, this.keys.globalDue(), ttlMs);
      }
      if (state.hasEnvs) this.queueRepo(write, state.repoId, ttlMs);
      rereadAt.push(write.length);
      queueEarliest(write, this.keys.repoDue(state.repoId));
    }
    const replies = await execAll(write);

    const restore = this.client.pipeline();
    states.forEach((state, i) => {
      const earliest = firstScore(replies[rereadAt[i] as number]);
      if (earliest !== null && (state.min === null || earliest < state.min)) {
        this.queueDueBy(restore, state.repoId, earliest, this.ttlFor(state));
      }
    });
    if (restore.length > 0) await execAll(restore);
  }

  /**
   * Drops repositories whose envs set expired from the global repos set, set
   * then verify as in `settle`: one whose envs set a concurrent write has
   * just recreated is put back.
   */
  async forgetRepos(repoIds: number[]): Promise<void> {
    if (repoIds.length === 0) return;
    const write = this.client.pipeline();
    for (const repoId of repoIds) write.srem(this.keys.globalRepos(), String(repoId)).pttl(this.keys.repoEnvs(repoId));
    const replies = await execAll(write);

    const restore = this.client.pipeline();
    repoIds.forEach((repoId, i) => {
      const envsTtl = asNumber(replies[2 * i + 1]);
      if (envsTtl > 0) this.queueRepo(restore, repoId, envsTtl);
    });
    if (restore.length > 0) await execAll(restore);
  }

  /**
   * Rebuilds both global indexes from the per-repository ones, after a
   * global key was lost (evicted, deleted by hand) or by the garbage
   * collector. It SCANs the keyspace for the repositories' indexes: a repair,
   * not a hot path.
   */
  async rebuild(): Promise<void> {
    const repoIds = new Set(asStrings(await this.client.smembers(this.keys.globalRepos())).map(Number));
    for (const keyOfRepo of [this.keys.repoEnvs, this.keys.repoDue]) {
      for (const repoId of await this.scanRepos(keyOfRepo)) repoIds.add(repoId);
    }
    const ids = [...repoIds];
    const read = this.client.pipeline();
    for (const repoId of ids) {
      queueEarliest(read, this.keys.repoDue(repoId)).pttl(this.keys.repoDue(repoId)).pttl(this.keys.repoEnvs(repoId));
    }
    const replies = await execAll(read);
    const states = ids.map((repoId, i): RepoDueState => {
      const envsTtl = asNumber(replies[3 * i + 2]);
      return {
        repoId,
        min: firstScore(replies[3 * i]),
        ttlMs: Math.max(asNumber(replies[3 * i + 1]), envsTtl),
        hasEnvs: envsTtl > 0,
      };
    });
    await this.settle(states);
    await this.forgetRepos(states.filter((state) => !state.hasEnvs).map((state) => state.repoId));
  }

  /** PEXPIRE with 0 or less would delete the key: a repository whose keys report no TTL gets the fallback. */
  private ttlFor(state: RepoDueState): number {
    return state.ttlMs > 0 ? state.ttlMs : this.fallbackTtlMs;
  }

  /** Ids of the repositories that have a key `keyOfRepo(id)`, found by SCAN. */
  private async scanRepos(keyOfRepo: (repoId: number) => string): Promise<number[]> {
    const { prefix } = this.keys;
    // `<prefix>{0}:due` → `<prefix>{*}:due`, with the fixed parts glob-escaped.
    const suffix = keyOfRepo(0).slice(`${prefix}{0}`.length);
    const pattern = `${escapeGlob(prefix)}{*}${escapeGlob(suffix)}`;
    const repoIds: number[] = [];
    let cursor = "0";
    do {
      const [next, found] = await this.client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      for (const key of found) {
        const repoId = Number(/^\{(\d+)\}/.exec(key.slice(prefix.length))?.[1]);
        if (keyOfRepo(repoId) === key) repoIds.push(repoId);
      }
      cursor = next;
    } while (cursor !== "0");
    return repoIds;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
