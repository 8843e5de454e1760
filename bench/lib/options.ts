/**
 * `npm run bench [-- --quick] [-- --profile] [-- --only=1,3]`: the sizes of
 * each scenario. The full form is what the README's recorded run used; the
 * quick one (for CI) has fewer and shorter rounds and scales the million
 * environments of scenario 3 down to 100,000.
 */
export interface BenchOptions {
  quick: boolean;
  /** Write V8 CPU profiles of the ingest servers (bench/profiles/) and print where their time went. */
  profile: boolean;
  /** Scenarios to run (1–7; 1, 2 and 6 are one group: naming any runs all three); all when absent. */
  only: ReadonlySet<number> | null;
  ingest: { concurrency: number; prs: number; warmupMs: number; roundMs: number; soloMs: number; rounds: number; maxRequestsPerRound: number };
  roundTrips: { webhooks: number };
  reaper: { repos: number; smallPrsPerRepo: number; largePrsPerRepo: number; sample: number; rounds: number };
  postgres: { rounds: number };
  storeOutage: { rounds: number; roundMs: number };
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const known = /^--(quick|profile|only=[1-7](,[1-7])*)$/;
  const unknown = argv.filter((arg) => !known.test(arg));
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(" ")}: use --quick, --profile, --only=1,3`);
  const quick = argv.includes("--quick");
  const only = argv.find((arg) => arg.startsWith("--only="));
  return {
    quick,
    profile: argv.includes("--profile"),
    only: only ? new Set(only.slice("--only=".length).split(",").map(Number)) : null,
    ingest: {
      concurrency: 16,
      prs: 16,
      warmupMs: quick ? 1500 : 3000,
      roundMs: quick ? 2000 : 5000,
      soloMs: quick ? 1000 : 2000,
      rounds: quick ? 3 : 5,
      maxRequestsPerRound: 200_000,
    },
    roundTrips: { webhooks: quick ? 5 : 12 },
    reaper: { repos: 1000, smallPrsPerRepo: 10, largePrsPerRepo: quick ? 100 : 1000, sample: quick ? 2000 : 10_000, rounds: quick ? 3 : 5 },
    postgres: { rounds: quick ? 3 : 5 },
    storeOutage: { rounds: quick ? 3 : 5, roundMs: quick ? 2000 : 3000 },
  };
}

/** Whether a scenario runs; 1, 2 and 6 (ingest and round trips, on both adapters) share their servers and run together. */
export function wants(options: BenchOptions, scenario: number): boolean {
  const group = [1, 2, 6].includes(scenario) ? [1, 2, 6] : [scenario];
  return options.only === null || group.some((member) => options.only?.has(member));
}
