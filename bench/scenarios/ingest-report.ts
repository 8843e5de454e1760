import { mainThreadProfile } from "../lib/app.js";
import type { BenchContext } from "../lib/context.js";
import { figure, type Figure } from "../lib/figures.js";
import { summariseProfile } from "../lib/profile.js";
import { median } from "../lib/stats.js";
import type { RoundTripFigures } from "./store-round-trips.js";

/** Scenario 1 and 6's figures from the rounds, and the servers' profiles when `--profile` is given. */

export type Kind = "floor" | "redis" | "sqlite";

export interface Round {
  throughput: number;
  p50: number;
  p99: number;
  /** The server's CPU per answered request, ms (its background work during the round included). */
  serverCpuMsPerRequest: number;
  clientCpuShare: number;
  completed: number;
  /** How long the server took to go quiet after the round (see `quiet`). */
  quietAfterMs?: number;
}

export interface IngestServer {
  kind: Kind;
  process: { name: string };
  rounds: Round[];
  /** At concurrency 1: latency without queueing. */
  solo: Round[];
}

type ProfileSummaries = Record<string, ReturnType<typeof summariseProfile> | { missing: true }>;

export function ingestFigures(scenario: string, server: IngestServer, floor: IngestServer, trips: RoundTripFigures, floorTrips: RoundTripFigures): Figure[] {
  const of = (rounds: Round[], pick: (r: Round) => number) => rounds.map(pick);
  const throughput = of(server.rounds, (r) => r.throughput);
  const floorThroughput = of(floor.rounds, (r) => r.throughput);
  const p99 = of(server.rounds, (r) => r.p99);
  return [
    figure({
      scenario,
      figure: "throughput",
      unit: "req/s",
      value: median(throughput),
      floor: median(floorThroughput),
      goal: { text: "≥ 70% of the floor (ratio ≥ 0.7)", met: median(throughput) >= 0.7 * median(floorThroughput) },
      rounds: throughput,
      floorRounds: floorThroughput,
    }),
    figure({
      scenario,
      figure: "latency p50",
      unit: "ms",
      value: median(of(server.rounds, (r) => r.p50)),
      floor: median(of(floor.rounds, (r) => r.p50)),
      goal: null,
      rounds: of(server.rounds, (r) => r.p50),
    }),
    figure({
      scenario,
      figure: "latency p99",
      unit: "ms",
      value: median(p99),
      floor: median(of(floor.rounds, (r) => r.p99)),
      goal: { text: "< 10 ms", met: median(p99) < 10 },
      rounds: p99,
      floorRounds: of(floor.rounds, (r) => r.p99),
    }),
    figure({
      scenario,
      figure: "latency p99 at concurrency 1 (no queueing)",
      unit: "ms",
      value: median(of(server.solo, (r) => r.p99)),
      floor: median(of(floor.solo, (r) => r.p99)),
      goal: null,
      rounds: of(server.solo, (r) => r.p99),
      floorRounds: of(floor.solo, (r) => r.p99),
    }),
    isolatedLatency(scenario, trips, floorTrips),
    figure({
      scenario,
      figure: "server CPU per webhook",
      unit: "ms",
      value: median(of(server.rounds, (r) => r.serverCpuMsPerRequest)),
      floor: median(of(floor.rounds, (r) => r.serverCpuMsPerRequest)),
      goal: null,
      rounds: of(server.rounds, (r) => r.serverCpuMsPerRequest),
    }),
  ];
}

/** The paced webhooks of scenario 2 took this long each: a webhook on an idle server (no queue, no background work). */
function isolatedLatency(scenario: string, trips: RoundTripFigures, floorTrips: RoundTripFigures): Figure {
  return figure({
    scenario,
    figure: "latency of one webhook on an idle server (median of the paced ones)",
    unit: "ms",
    value: median(trips.latenciesMs),
    floor: median(floorTrips.latenciesMs),
    goal: null,
    rounds: trips.latenciesMs,
    floorRounds: floorTrips.latenciesMs,
  });
}

/** The top of each profile, on stderr; all of it goes to results.json. */
export function reportProfiles(ctx: BenchContext, profiles: ProfileSummaries): void {
  for (const [kind, summary] of Object.entries(profiles)) {
    if (!("byActivity" in summary)) {
      ctx.progress(`profile of ${kind}: not written`);
      continue;
    }
    ctx.progress(`profile of ${kind} (${summary.file}), ${summary.busyMs} ms busy:`);
    for (const share of summary.byActivity.slice(0, 8)) ctx.progress(`  ${share.percent.toFixed(1).padStart(5)}%  ${share.name}`);
  }
}

export function summariseProfiles(dir: string, servers: IngestServer[]): ProfileSummaries {
  return Object.fromEntries(
    servers.map((server) => {
      const file = mainThreadProfile(dir, server.process.name);
      return [server.kind, file ? summariseProfile(file) : { missing: true as const }];
    }),
  );
}
