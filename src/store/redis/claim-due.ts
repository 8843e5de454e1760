import type { EnvKey } from "../../lifecycle/environment.js";
import { parseEnvId, type Keys } from "../keys.js";
import type { RepoDueState } from "./global-index.js";
import { decodeReply } from "./script-replies.js";
import type { RedisClient } from "./connection.js";
import { asStrings, execAll, scoredMembers } from "./replies.js";
import { callScript } from "./scripts.js";
import { SlotBatch } from "./slot-batch.js";

type Scored = EnvKey & { score: number };
const byDue = (a: Scored, b: Scored) => a.score - b.score || a.repoId - b.repoId || a.pr - b.pr;

/**
 * StateStore.claimDue: four round trips however many repositories are due
 * (on a cluster, steps 2 and 3 send one pipeline per repository at once),
 * each reading only what is due (never every environment stored).
 */
export async function claimDue(
  client: RedisClient,
  keys: Keys,
  settle: (states: RepoDueState[]) => Promise<void>,
  { now, limit, hideMs }: { now: number; limit: number; hideMs: number },
): Promise<EnvKey[]> {
  if (limit <= 0) return [];
  // 1. Repositories with something due, from the global index (stale-early ones included).
  const repoIds = asStrings(await client.zrangebyscore(keys.globalDue(), "-inf", now, "LIMIT", 0, limit)).map(Number);
  if (repoIds.length === 0) return [];

  // 2. Peek at each one's oldest due environments and pick the `limit` oldest
  // overall. Each is hidden until now + hideMs, 1 ms apart in this order, so
  // those not worked come back oldest first still.
  const peek = new SlotBatch(client);
  for (const repoId of repoIds) peek.add(keys.repoDue(repoId), (pipeline) => pipeline.zrangebyscore(keys.repoDue(repoId), "-inf", now, "WITHSCORES", "LIMIT", 0, limit));
  const peeked = (await execAll(peek)).flatMap((reply, i) => scored(repoIds[i] as number, reply));
  const hideUntil = new Map<number, number[]>();
  peeked
    .sort(byDue)
    .slice(0, limit)
    .forEach(({ repoId }, rank) => hideUntil.set(repoId, [...(hideUntil.get(repoId) ?? []), now + hideMs + rank]));

  // 3. Claim atomically per repository. Every peeked repository runs the
  // script, taking none when none of its environments was picked: its reply
  // still corrects a stale global score.
  const claim = new SlotBatch(client);
  for (const repoId of repoIds) {
    claim.add(keys.repoDue(repoId), (pipeline) => callScript(pipeline, "claim-due", [keys.repoDue(repoId)], [now, ...(hideUntil.get(repoId) ?? [])]));
  }
  const states: RepoDueState[] = [];
  const claimed = (await execAll(claim)).flatMap((reply, i): Scored[] => {
    const { ttlMs, min, taken } = decodeReply("claim-due", reply);
    const repoId = repoIds[i] as number;
    states.push({ repoId, min, ttlMs });
    return taken.map(({ pr, score }) => ({ repoId, pr, score }));
  });

  // 4. Derive the global index from what the claims left.
  await settle(states);
  return claimed.sort(byDue).map(({ repoId, pr }) => ({ repoId, pr }));
}

function scored(repoId: number, flat: unknown): Scored[] {
  return scoredMembers(asStrings(flat)).map(({ member, score }) => ({ repoId, pr: parseEnvId(member), score }));
}
