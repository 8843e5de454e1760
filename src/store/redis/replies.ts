import type { ChainableCommander } from "ioredis";

/**
 * Running pipelines and reading their replies. A pipeline (or a MULTI
 * transaction) is written to the socket at once: one round trip however
 * many commands it holds.
 */

/** Sends a pipeline, transaction or SlotBatch and returns its replies in order, throwing the first error. */
export async function execAll(pipeline: Pick<ChainableCommander, "exec">): Promise<unknown[]> {
  const results = await pipeline.exec();
  // null only when a WATCHed key changed; nothing here uses WATCH.
  if (!results) throw new Error("Redis transaction was aborted");
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/**
 * Queues what makes `key` live at least `ttlMs` from now without shortening a
 * longer TTL: NX gives a TTL to a key that has none, GT lengthens a shorter
 * one (Redis 7.0 or later).
 */
export function keepTtl(pipeline: ChainableCommander, key: string, ttlMs: number): ChainableCommander {
  return pipeline.pexpire(key, ttlMs, "NX").pexpire(key, ttlMs, "GT");
}

export function asStrings(reply: unknown): string[] {
  if (!Array.isArray(reply) || !reply.every((item) => typeof item === "string")) {
    throw new TypeError(`unexpected Redis reply: ${JSON.stringify(reply)}`);
  }
  return reply;
}

/** A number from an integer, or from a score (a string under RESP2 and the legacy reply mapping). */
export function asNumber(reply: unknown): number {
  const value = typeof reply === "string" ? Number(reply) : reply;
  if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`unexpected Redis reply: ${JSON.stringify(reply)}`);
  return value;
}

/** A score that may be absent: null, or "" as the scripts return for an empty set. */
export function asScore(reply: unknown): number | null {
  return reply === null || reply === "" ? null : asNumber(reply);
}

/** Queues the read of a sorted set's earliest member; `firstScore` reads its reply. */
export function queueEarliest(pipeline: ChainableCommander, key: string): ChainableCommander {
  return pipeline.zrange(key, 0, "0", "WITHSCORES");
}

/** The score of a `queueEarliest` reply: the earliest, or null for an empty set. */
export function firstScore(reply: unknown): number | null {
  return asScore(asStrings(reply)[1] ?? null);
}

/** `[member, score, member, score, ...]` as pairs. */
export function scoredMembers(flat: string[]): Array<{ member: string; score: number }> {
  const pairs: Array<{ member: string; score: number }> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push({ member: flat[i] as string, score: asNumber(flat[i + 1]) });
  return pairs;
}
