import { z } from "zod";

/**
 * What one chaos run does. The long form (`npm run test:chaos`) reads these
 * from `--name=value` flags or `CHAOS_<NAME>` environment variables; the CI
 * form (chaos.test.ts) passes a smaller set.
 */
export const chaosOptionsSchema = z.object({
  /** Server processes (src/main.ts) sharing the one Redis and the one fake GitHub. */
  replicas: z.coerce.number().int().min(1).max(8).default(3),
  /** PR lives: open, 0–3 pushes, maybe `/preview extend`, close (a share stays open). */
  lives: z.coerce.number().int().min(1).max(2000).default(200),
  /** Seconds over which the lives start (the chaos phase lasts about this long plus one life). */
  durationSeconds: z.coerce.number().min(5).max(7200).default(300),
  /** Mean seconds between two kill -9 of a random replica (each restarted a second later); 0: none. */
  killIntervalSeconds: z.coerce.number().min(0).max(3600).default(20),
  /** Kill Redis (SIGKILL) at this share of the duration and start it again from its AOF; 0: never. */
  redisKillAt: z.coerce.number().min(0).max(1).default(0.4),
  /**
   * Seconds Redis stays down; deliveries meanwhile are refused and redelivered
   * later. Longer than the 10 s or so after which Bottleneck's client keys
   * expire (Probot's throttling in Redis mode), which is what breaks it.
   */
  redisDownSeconds: z.coerce.number().min(0).max(120).default(15),
  /** `always`: no acknowledged write lost; `everysec`: up to a second of them, which resync must repair. */
  appendfsync: z.enum(["always", "everysec"]).default("always"),
  /**
   * `process`: Redis's process is killed, the kernel keeps what it wrote.
   * `machine`: a power loss, simulated — the AOF comes back as it was at its
   * last fsync (with `everysec`, up to a second old; with `always`, whole).
   */
  redisCrash: z.enum(["process", "machine"]).default("process"),
  /** Share of acknowledged deliveries GitHub sends a second time (same X-GitHub-Delivery). */
  duplicateShare: z.coerce.number().min(0).max(1).default(0.1),
  /** Share of a life's consecutive events sent in swapped order (their `updated_at` stays true). */
  reorderShare: z.coerce.number().min(0).max(1).default(0.15),
  /** Share of lives whose PR is still open at the end (their environment must be ready). */
  openAtEndShare: z.coerce.number().min(0).max(1).default(0.2),
  /** Seconds to wait for convergence after the last life before the figures are taken anyway. */
  settleSeconds: z.coerce.number().min(10).max(3600).default(300),
  /** 1: keep the run's directory (the replicas' logs, the step log, the markers) and print where it is. */
  keepDir: z.enum(["0", "1"]).default("0").transform((value) => value === "1"),
  /** Seed of the run's random choices, so a run can be repeated (the timing of kills still varies). */
  seed: z.coerce.number().int().default(() => Date.now() % 1_000_000),
});

export type ChaosOptions = z.infer<typeof chaosOptionsSchema>;

const FLAG = /^--([a-zA-Z]+)=(.*)$/;

/** Flags win over `CHAOS_*` variables (`CHAOS_KILL_INTERVAL_SECONDS` is `--killIntervalSeconds`). */
export function readChaosOptions(argv: readonly string[], env: Record<string, string | undefined>): ChaosOptions {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(chaosOptionsSchema.shape)) {
    const value = env[`CHAOS_${name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`];
    if (value !== undefined) raw[name] = value;
  }
  for (const arg of argv) {
    const match = FLAG.exec(arg);
    if (!match?.[1] || !(match[1] in chaosOptionsSchema.shape)) throw new Error(`unknown argument ${arg}; flags are ${Object.keys(chaosOptionsSchema.shape).map((name) => `--${name}=…`).join(" ")}`);
    raw[match[1]] = match[2] ?? "";
  }
  const parsed = chaosOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => `--${issue.path.join(".")}: ${issue.message}`).join("; "));
  return parsed.data;
}
