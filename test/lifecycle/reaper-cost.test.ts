import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { makeKeys } from "../../src/store/keys.js";
import type { ExportedKey } from "../../src/lifecycle/state-store.js";
import { HOUR, openIntent } from "./harness.js";
import { makeWorld, type World } from "./world.js";

/**
 * The reaper's cost follows what is due, not what is stored: a tick over 100
 * due environments costs about the same with 1,000 or 100,000 stored.
 */

const PREFIX = "ephemera:";
const DUE_PER_TICK = 100;
const ROUNDS = 3;
const CLAIM_ROUNDS = 9;
/** Claiming with this hide pushes an environment out of the way for good. */
const OUT_OF_THE_WAY = 10 * 365 * 24 * HOUR;

let world: World;
let stored = 0;
let tickRound = 0;

beforeAll(async () => {
  world = await makeWorld({
    config: { templates: { default: {} }, limits: { maxActive: 1_000_000, maxActivePerRepo: 1_000_000 } },
    options: { batchSize: DUE_PER_TICK },
  });
});
afterAll(() => world.dispose());

/** Live `ready` environments, due only at their expiry a day away (imported in one go, then claimed out of the way). */
async function storeIdle(count: number): Promise<void> {
  const keys = makeKeys(PREFIX);
  const expiresAt = new Date(Date.now() + 24 * HOUR).toISOString();
  const entries: ExportedKey[] = [];
  for (let i = 0; i < count; i += 1) {
    const key: EnvKey = { repoId: 10_000 + ((stored + i) % 1_000), pr: 1 + Math.floor((stored + i) / 1_000) };
    entries.push({ key: keys.env(key, "status"), value: "ready", ttlMs: 48 * HOUR });
    entries.push({ key: keys.env(key, "expires_at"), value: expiresAt, ttlMs: 48 * HOUR });
  }
  await world.store.importKeys(entries);
  stored += count;
  while ((await world.store.claimDue(Date.now(), 50_000, OUT_OF_THE_WAY)).length > 0);
}

/** Makes `DUE_PER_TICK` new environments due now (an open each), as webhooks would. */
async function makeDue(): Promise<EnvKey[]> {
  tickRound += 1;
  const keys = Array.from({ length: DUE_PER_TICK }, (_, i) => ({ repoId: 9, pr: tickRound * 1_000 + i + 1 }));
  for (const key of keys) await world.lifecycle.record(key, openIntent("d".repeat(40)));
  return keys;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

/**
 * The fastest of several bare claimDue calls of the due ones (a sub-millisecond
 * call: the minimum is what the query costs, any single sample may be a
 * neighbour's pause), and the median time of a whole tick (claim and
 * reconcile each to `ready`).
 */
async function measure(): Promise<{ claimMs: number; tickMs: number }> {
  const claims: number[] = [];
  const ticks: number[] = [];
  for (let round = 0; round < CLAIM_ROUNDS; round += 1) {
    await makeDue();
    const claimStart = performance.now();
    const claimed = await world.store.claimDue(Date.now(), DUE_PER_TICK, 1);
    claims.push(performance.now() - claimStart);
    expect(claimed).toHaveLength(DUE_PER_TICK);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  for (let round = 0; round < ROUNDS; round += 1) {
    const keys = await makeDue();
    const tickStart = performance.now();
    const reconciled = await world.reconciler.runDue();
    ticks.push(performance.now() - tickStart);
    // The claimed-and-dropped ones come back too: at least this round's are done.
    expect(reconciled).toBeGreaterThanOrEqual(DUE_PER_TICK);
    expect((await world.store.load(keys[0] as EnvKey))?.fields.status).toBe("ready");
  }
  return { claimMs: Math.min(...claims), tickMs: median(ticks) };
}

describe("reaper cost", () => {
  it("does not grow with the number of stored environments", async () => {
    await storeIdle(1_000 - DUE_PER_TICK);
    const small = await measure();
    const smallStored = stored;
    await storeIdle(100_000 - stored);
    const large = await measure();
    console.log(
      `reaper: ${DUE_PER_TICK} due among ${smallStored + DUE_PER_TICK} stored: claimDue ${small.claimMs.toFixed(2)} ms, tick ${small.tickMs.toFixed(0)} ms; ` +
        `among ${stored + DUE_PER_TICK} stored: claimDue ${large.claimMs.toFixed(2)} ms, tick ${large.tickMs.toFixed(0)} ms ` +
        `(ratios ${(large.claimMs / small.claimMs).toFixed(2)} and ${(large.tickMs / small.tickMs).toFixed(2)})`,
    );
    expect(large.tickMs / small.tickMs).toBeLessThan(5);
    expect(large.claimMs / small.claimMs).toBeLessThan(5);
  }, 90_000);
});
