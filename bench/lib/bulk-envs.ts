import { envId, type EnvKey } from "../../src/lifecycle/environment.js";
import type { EnvKeyPart, Keys } from "../../src/store/keys.js";
import type { ExportedKey } from "../../src/lifecycle/state-store.js";
import { bulkString, encodeCommand, RespPipe } from "./resp-pipe.js";

/**
 * Scenario 3's bulk loader: a million environments written straight into
 * Redis in the adapter's layout (src/store/keys.ts and the scripts),
 * pipelined over one connection. Per environment: its `status` and
 * `expires_at` keys, copied from an environment the real adapter wrote (its
 * `exportKeys`: names rebuilt with keys.ts, values and TTLs as exported),
 * and its entries in the repository's due sorted set (`pr-<n>` scored by
 * the next due time) and envs set; per repository, those two sets' TTLs;
 * globally, the due index (repository scored by the earliest due time in
 * it) and the repository set.
 *
 * The other field keys (config, artifacts, checkpoints, desired, events) are
 * not written: the sweep never reads them, and on this machine Redis
 * inserts about 250,000 keys a second, so all eight keys of a million
 * environments take minutes to load where these take seconds. Memory per
 * environment is measured on adapter-written environments instead.
 */

export const BULK_PARTS: readonly EnvKeyPart[] = ["status", "expires_at"];

export interface EnvTemplate {
  parts: Array<{ part: EnvKeyPart; value: string; ttlMs: number }>;
}

/** The `parts` keys of one environment the adapter wrote, as a template for others. */
export function templateFrom(keys: Keys, exported: readonly ExportedKey[], parts: readonly EnvKeyPart[] = BULK_PARTS): EnvTemplate {
  const picked = exported.flatMap(({ key, value, ttlMs }) => {
    const part = keys.parseEnv(key)?.part;
    if (part === undefined || !parts.includes(part)) return [];
    if (typeof value !== "string" || ttlMs === null) throw new Error(`${key}: expected a string with a TTL`);
    return [{ part, value, ttlMs }];
  });
  if (picked.length !== parts.length) throw new Error(`the exported environment lacks some of ${parts.join(", ")}`);
  return { parts: picked };
}

export interface BulkLayout {
  repos: number;
  prsPerRepo: number;
  firstRepoId: number;
  /** Environments are due relative to this (ms). */
  now: number;
}

export interface BulkResult {
  envs: number;
  commands: number;
  ms: number;
  /** The one environment per repository that is due (scored in the past); every other one is due hours to days ahead. */
  due: Array<EnvKey & { score: number }>;
}

const HOUR = 3_600_000;
const INDEX_TTL_MS = 8 * 24 * HOUR;

/** Which PR of repository `index` is the due one: spread over the PR numbers, one per repository. */
export function duePrOf(index: number, prsPerRepo: number): number {
  return ((index * 7919) % prsPerRepo) + 1;
}

export async function bulkLoad(port: number, keys: Keys, template: EnvTemplate, layout: BulkLayout): Promise<BulkResult> {
  const started = performance.now();
  const pipe = await RespPipe.open(port);
  // Everything after the key name of a field's SET is the same for every environment: encode it once.
  const fieldTails = template.parts.map(({ part, value, ttlMs }) => ({ part, tail: bulkString(value) + bulkString("PX") + bulkString(String(ttlMs)) }));
  const due: BulkResult["due"] = [];
  try {
    for (let r = 0; r < layout.repos; r++) {
      const repoId = layout.firstRepoId + r;
      const duePr = duePrOf(r, layout.prsPerRepo);
      const dueScore = layout.now - 1000 - r;
      const repoDue = bulkString(keys.repoDue(repoId));
      const repoEnvs = bulkString(keys.repoEnvs(repoId));
      for (let pr = 1; pr <= layout.prsPerRepo; pr++) {
        const key = { repoId, pr };
        let encoded = "";
        for (const { part, tail } of fieldTails) encoded += `*5\r\n$3\r\nSET\r\n${bulkString(keys.env(key, part))}${tail}`;
        const score = pr === duePr ? dueScore : layout.now + HOUR + Math.floor(Math.random() * 6 * 24 * HOUR);
        const member = bulkString(envId(pr));
        encoded += `*4\r\n$4\r\nZADD\r\n${repoDue}${bulkString(String(score))}${member}*3\r\n$4\r\nSADD\r\n${repoEnvs}${member}`;
        pipe.addEncoded(encoded, fieldTails.length + 2);
        await pipe.flushIfFull();
      }
      due.push({ repoId, pr: duePr, score: dueScore });
      pipe.addEncoded(
        encodeCommand(["PEXPIRE", keys.repoDue(repoId), INDEX_TTL_MS]) +
          encodeCommand(["PEXPIRE", keys.repoEnvs(repoId), INDEX_TTL_MS]) +
          encodeCommand(["ZADD", keys.globalDue(), dueScore, String(repoId)]) +
          encodeCommand(["SADD", keys.globalRepos(), String(repoId)]),
        4,
      );
    }
    pipe.add(["PEXPIRE", keys.globalDue(), INDEX_TTL_MS]);
    pipe.add(["PEXPIRE", keys.globalRepos(), INDEX_TTL_MS]);
    const { commands } = await pipe.finish();
    return { envs: layout.repos * layout.prsPerRepo, commands, ms: performance.now() - started, due };
  } finally {
    pipe.close();
  }
}
