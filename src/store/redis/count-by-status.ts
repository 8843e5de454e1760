import type { Status } from "../../lifecycle/environment.js";
import { decodeField } from "../field-codec.js";
import { parseEnvId, type Keys } from "../keys.js";
import type { RedisClient } from "./connection.js";
import { asStrings, execAll } from "./replies.js";
import { SlotBatch } from "./slot-batch.js";

/** About this many keys (or sets) are read per round trip: large enough to be few, small enough not to stall Redis. */
const BATCH = 1000;

type Counts = Partial<Record<Status, number>>;

/**
 * StateStore.countByStatus without KEYS or SCAN: the repository set names
 * the repositories, each one's envs set names its environments, and their
 * `status` keys are read with MGET. The repository set is derived (see
 * GlobalIndex): a repository whose entry failed to be written is missed
 * until the next write to it or `rebuildGlobalIndexes`, as `listKeys` misses
 * it. Envs-set members whose keys expired read as null and are not counted.
 */
export async function countByStatus(client: RedisClient, keys: Keys): Promise<Counts> {
  const counts: Counts = {};
  const repoIds = asStrings(await client.smembers(keys.globalRepos())).map(Number);
  for (const repoBatch of chunks(repoIds, BATCH)) {
    const read = new SlotBatch(client);
    for (const repoId of repoBatch) read.add(keys.repoEnvs(repoId), (pipeline) => pipeline.smembers(keys.repoEnvs(repoId)));
    const envSets = await execAll(read);
    const statusKeys = repoBatch.map((repoId, i) => asStrings(envSets[i]).map((member) => keys.env({ repoId, pr: parseEnvId(member) }, "status")));
    await tallyStatuses(client, statusKeys, counts);
  }
  return counts;
}

/**
 * MGETs the status keys, each MGET within one repository (one hash slot:
 * on a cluster an MGET may not span slots) and at most BATCH keys, sending
 * a pipeline once about BATCH keys are queued.
 */
async function tallyStatuses(client: RedisClient, keysPerRepo: string[][], counts: Counts): Promise<void> {
  let read = new SlotBatch(client);
  let queued = 0;
  const flush = async () => {
    for (const reply of await execAll(read)) {
      for (const raw of reply as Array<string | null>) {
        if (raw === null) continue;
        const status = decodeField("status", raw);
        counts[status] = (counts[status] ?? 0) + 1;
      }
    }
    read = new SlotBatch(client);
    queued = 0;
  };
  for (const keysOfRepo of keysPerRepo) {
    for (const batch of chunks(keysOfRepo, BATCH)) {
      read.add(batch[0] as string, (pipeline) => pipeline.mget(...batch));
      queued += batch.length;
      if (queued >= BATCH) await flush();
    }
  }
  if (queued > 0) await flush();
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
