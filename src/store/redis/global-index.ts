import type { Keys } from "../keys.js";
import { masters, type RedisClient } from "./connection.js";
import { asNumber, asStrings, execAll, firstScore, keepTtl, queueEarliest } from "./replies.js";
import { SlotBatch } from "./slot-batch.js";

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
 *
 * `<prefix>due` and `<prefix>repos` are two slots of their own on a cluster,
 * and every repository's index another: the batches below group their
 * commands by slot (SlotBatch), and where "set, then verify" needs the
 * verification to run after the write, a barrier orders them.
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
    private readonly client: RedisClient,
    private readonly keys: Keys,
    /** TTL for a global key when the repository's own keys report none. */
    private readonly fallbackTtlMs: number,
  ) {}

  /** Queues "this repository is due at `at` at the latest": ZADD LT only ever brings it forward, so it needs no verification. */
  queueDueBy(batch: SlotBatch, repoId: number, at: number, ttlMs: number): SlotBatch {
    const due = this.keys.globalDue();
    return batch.add(due, (pipeline) => keepTtl(pipeline.zadd(due, "LT", at, String(repoId)), due, ttlMs));
  }

  queueRepo(batch: SlotBatch, repoId: number, ttlMs: number): SlotBatch {
    const repos = this.keys.globalRepos();
    return batch.add(repos, (pipeline) => keepTtl(pipeline.sadd(repos, String(repoId)), repos, ttlMs));
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
   * re-read sees it. (On a cluster, a barrier keeps the re-read after the
   * write; on one Redis the pipeline's order does.)
   */
  async settle(states: RepoDueState[]): Promise<void> {
    if (states.length === 0) return;
    const write = new SlotBatch(this.client);
    const due = this.keys.globalDue();
    for (const state of states) {
      const member = String(state.repoId);
      const { min } = state;
      if (min === null) write.add(due, (pipeline) => pipeline.zrem(due, member));
      else write.add(due, (pipeline) => keepTtl(pipeline.zadd(due, min, member), due, this.ttlFor(state)));
      if (state.hasEnvs) this.queueRepo(write, state.repoId, this.ttlFor(state));
    }
    write.barrier();
    const rereadAt = states.map((state) => {
      const at = write.length;
      write.add(this.keys.repoDue(state.repoId), (pipeline) => queueEarliest(pipeline, this.keys.repoDue(state.repoId)));
      return at;
    });
    const replies = await execAll(write);

    const restore = new SlotBatch(this.client);
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
    const repos = this.keys.globalRepos();
    const write = new SlotBatch(this.client).add(repos, (pipeline) => pipeline.srem(repos, ...repoIds.map(String))).barrier();
    for (const repoId of repoIds) write.add(this.keys.repoEnvs(repoId), (pipeline) => pipeline.pttl(this.keys.repoEnvs(repoId)));
    const replies = await execAll(write);

    const restore = new SlotBatch(this.client);
    repoIds.forEach((repoId, i) => {
      const envsTtl = asNumber(replies[1 + i]);
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
    const read = new SlotBatch(this.client);
    for (const repoId of ids) {
      const due = this.keys.repoDue(repoId);
      read.add(due, (pipeline) => queueEarliest(pipeline, due).pttl(due).pttl(this.keys.repoEnvs(repoId)));
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

  /** Ids of the repositories that have a key `keyOfRepo(id)`, found by SCAN (of every master, on a cluster). */
  private async scanRepos(keyOfRepo: (repoId: number) => string): Promise<number[]> {
    const { prefix } = this.keys;
    // `<prefix>{0}:due` → `<prefix>{*}:due`, with the fixed parts glob-escaped.
    const suffix = keyOfRepo(0).slice(`${prefix}{0}`.length);
    const pattern = `${escapeGlob(prefix)}{*}${escapeGlob(suffix)}`;
    const repoIds: number[] = [];
    for (const node of masters(this.client)) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        for (const key of found) {
          const repoId = Number(/^\{(\d+)\}/.exec(key.slice(prefix.length))?.[1]);
          if (keyOfRepo(repoId) === key) repoIds.push(repoId);
        }
        cursor = next;
      } while (cursor !== "0");
    }
    return repoIds;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
