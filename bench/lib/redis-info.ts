import type { Redis } from "ioredis";

/** `INFO <section>` as name → value. */
export async function redisInfo(client: Redis, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  const fields: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** `INFO commandstats` as command → calls (`cmdstat_evalsha:calls=12,...` → evalsha: 12). */
export async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const [name, value] of Object.entries(await redisInfo(client, "commandstats"))) {
    const match = /^cmdstat_(.+)$/.exec(name);
    const count = /(?:^|,)calls=(\d+)/.exec(value);
    if (match?.[1] && count?.[1]) calls[match[1]] = Number(count[1]);
  }
  return calls;
}

/** after − before, per command, leaving out the ones that did not change. */
export function callsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after)) {
    const change = calls - (before[name] ?? 0);
    if (change !== 0) delta[name] = change;
  }
  return delta;
}

/** Bytes Redis has allocated (`used_memory`). */
export async function usedMemory(client: Redis): Promise<number> {
  return Number((await redisInfo(client, "memory")).used_memory);
}

/** Socket reads Redis has processed (`total_reads_processed`, INFO stats): one per request or pipeline a client sends. */
export async function readsProcessed(client: Redis): Promise<number> {
  return Number((await redisInfo(client, "stats")).total_reads_processed);
}
