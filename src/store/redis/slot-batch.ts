import { Cluster, type ChainableCommander } from "ioredis";
import type { RedisClient } from "./connection.js";

type Reply = [error: Error | null, reply: unknown];

/**
 * Commands sent together, each group within one hash slot. On one Redis
 * (REDIS_URL or Sentinel) they are one pipeline: one round trip. A Redis
 * Cluster refuses a pipeline whose keys span slots, so there each slot gets
 * a pipeline of its own, sent at once. `exec` answers in the order the
 * groups were added either way.
 *
 * `barrier` orders: on a cluster, what is added after it is sent only once
 * what was added before has answered. One pipeline on one Redis already runs
 * in order, so there it costs nothing.
 */
export class SlotBatch {
  private readonly cluster: boolean;
  /** Per phase (barriers separate them), one pipeline per slot. */
  private readonly phases: Array<Map<string, ChainableCommander>> = [new Map()];
  private readonly groups: Array<{ pipeline: ChainableCommander; from: number; to: number }> = [];
  /** How many commands are queued: the index the next one's reply will have. */
  length = 0;

  constructor(private readonly client: RedisClient) {
    this.cluster = client instanceof Cluster;
  }

  /** Queues commands whose keys are all in the slot of `slotKey`. */
  add(slotKey: string, queue: (pipeline: ChainableCommander) => unknown): this {
    const pipeline = this.pipelineFor(slotKey);
    const from = pipeline.length;
    queue(pipeline);
    this.groups.push({ pipeline, from, to: pipeline.length });
    this.length += pipeline.length - from;
    return this;
  }

  barrier(): this {
    if (this.cluster && (this.phases.at(-1)?.size ?? 0) > 0) this.phases.push(new Map());
    return this;
  }

  /** Every command's error or reply, in the order queued. A pipeline that fails as a whole fails each of its commands. */
  async exec(): Promise<Reply[]> {
    const replies = new Map<ChainableCommander, Reply[]>();
    for (const phase of this.phases) {
      await Promise.all(
        [...phase.values()].map(async (pipeline) => {
          const results = await pipeline.exec().catch((error: Error) => Array.from({ length: pipeline.length }, (): Reply => [error, null]));
          // null only when a WATCHed key changed; nothing here uses WATCH.
          replies.set(pipeline, results ?? Array.from({ length: pipeline.length }, (): Reply => [new Error("Redis pipeline was aborted"), null]));
        }),
      );
    }
    return this.groups.flatMap(({ pipeline, from, to }) => (replies.get(pipeline) ?? []).slice(from, to));
  }

  private pipelineFor(slotKey: string): ChainableCommander {
    const phase = this.phases.at(-1) as Map<string, ChainableCommander>;
    // One Redis has one phase, and one pipeline in it.
    const slot = this.cluster ? hashedPart(slotKey) : "";
    const pipeline = phase.get(slot) ?? this.client.pipeline();
    phase.set(slot, pipeline);
    return pipeline;
  }
}

/**
 * The part of a key Redis hashes to pick its slot: the first `{…}` hash tag
 * when it is not empty, else the whole key. Keys with the same part share a
 * slot; two parts may share one too, and then simply get two pipelines.
 */
function hashedPart(key: string): string {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
