import { describe, expect, it } from "vitest";
import { chaosOptionsSchema } from "./chaos-options.js";
import { figuresTable, nonZeroFigures } from "./figures.js";
import { runChaos } from "./run-chaos.js";

/**
 * The chaos run's short form, in CI (the long form is `npm run test:chaos`):
 * three server processes on one Redis (AOF, appendfsync always), two dozen
 * PR lives sent to random replicas with duplicates and swapped order, a
 * replica killed -9 every few seconds, Redis killed -9 and restarted from its
 * AOF once after 15 s down. Every figure but the timings must be 0.
 */

const options = chaosOptionsSchema.parse({
  replicas: 3,
  lives: 24,
  durationSeconds: 45,
  killIntervalSeconds: 8,
  redisKillAt: 0.4,
  redisDownSeconds: 15,
  appendfsync: "always",
  settleSeconds: 90,
});

describe("chaos: replicas killed -9 and a Redis restart", () => {
  it("loses nothing, doubles nothing, leaves nothing (every figure but the timings is 0)", { timeout: 300_000 }, async () => {
    const report = await runChaos(options, (line) => console.log(`chaos: ${line}`));
    console.log(`chaos (seed ${options.seed}):\n${figuresTable(report.figures)}`);
    if (Object.keys(nonZeroFigures(report.figures)).length > 0) console.log(`chaos: non-zero, and why:\n${JSON.stringify(report.offenders, null, 2)}`);
    expect(nonZeroFigures(report.figures)).toEqual({});
    expect(report.converged).toBe(true);
  });
});
