import { z } from "zod";
import { InvalidDurationError, parseDuration } from "./duration.js";
import type { TokenBucketLimit } from "../lifecycle/state-store.js";
import { DEFAULT_POSTGRES_PREFIX, POSTGRES_PREFIX_PATTERN } from "./postgres-prefix.js";

/**
 * Start-up configuration from environment variables (DESIGN §2). `readEnv`
 * is pure: it takes the environment as a parameter so tests pass their own.
 * Every problem becomes one line naming the variable and what is wrong.
 */

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "EnvError";
  }
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

const optionalText = z.string().optional();

function urlWithProtocols(protocols: string[], example: string) {
  return optionalText.refine(
    (value) => {
      if (value === undefined) return true;
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `is not a valid URL (expected ${example})` },
  );
}

/** A whole number from `min` to `max`; `fallback` when unset. */
function intVariable(fallback: string, min: number, max: number) {
  return z
    .string()
    .default(fallback)
    .refine((value) => /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number);
}

function durationVariable(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((value, context) => {
      try {
        return parseDuration(value);
      } catch (error) {
        if (!(error instanceof InvalidDurationError)) throw error;
        context.addIssue({ code: "custom", message: `is not a duration: ${error.message}` });
        return z.NEVER;
      }
    });
}

/** `2000000000-2000065535`: the uids steps run as, as root. Never a real account's (above 65535), and a signed 32-bit number, as Node's spawn takes. */
const uidRange = z
  .string()
  .default("2000000000-2000065535")
  .transform((value, context) => {
    const match = /^(\d{1,10})-(\d{1,10})$/.exec(value);
    const first = Number(match?.[1]);
    const last = Number(match?.[2]);
    if (!match || first < 65536 || last < first || last > 2147483647) {
      context.addIssue({ code: "custom", message: "must be first-last, both above 65535 and at most 2147483647 (e.g. 2000000000-2000065535)" });
      return z.NEVER;
    }
    return { first, last };
  });

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port,host:port` (an IPv6 host in brackets): at least one. */
function hostPortList(example: string) {
  return optionalText.transform((value, context) => {
    if (value === undefined) return undefined;
    const pairs = value.split(",").map((entry) => /^(\[[^\]\s]+\]|[^:\s,]+):(\d{1,5})$/.exec(entry.trim()));
    const valid = pairs.every((pair) => pair && Number(pair[2]) >= 1 && Number(pair[2]) <= 65535);
    if (!valid) {
      context.addIssue({ code: "custom", message: `must be host:port pairs separated by commas (e.g. ${example})` });
      return z.NEVER;
    }
    return pairs.map((pair): HostPort => ({ host: (pair?.[1] as string).replace(/^\[(.*)\]$/, "$1"), port: Number(pair?.[2]) }));
  });
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `2g`, `512m`: bytes, at least 64 MiB. */
const byteSize = z
  .string()
  .default("2g")
  .transform((value, context) => {
    const match = /^(\d{1,12})([kmg]?)$/i.exec(value.trim());
    const bytes = match ? Number(match[1]) * (SIZE_UNITS[(match[2] ?? "").toLowerCase()] ?? 1) : NaN;
    if (!(bytes >= 64 * 1024 ** 2)) {
      context.addIssue({ code: "custom", message: "must be a size of at least 64m (e.g. 2g, 512m)" });
      return z.NEVER;
    }
    return bytes;
  });
/** A number above 0 and at most `max`, given as text. */
function positiveNumber(fallback: string, expected: string, max: number) {
  return z
    .string()
    .default(fallback)
    .transform(Number)
    .refine((value) => Number.isFinite(value) && value > 0 && value <= max, { message: `must be ${expected}, at most ${max}` });
}

/** What one process does (DESIGN §2): everything, or one side of a web + worker layout on one Redis. */
export const ROLES = ["all", "web", "worker"] as const;
export type Role = (typeof ROLES)[number];

const envSchema = z.object({
  /** The GitHub App's numeric id. */
  APP_ID: z.string({ error: "is required (the GitHub App's id)" }).regex(/^\d+$/, "must be the GitHub App's numeric id"),
  /** The App's private key (PEM, or PEM with `\n` escapes, or base64 of it). */
  PRIVATE_KEY: optionalText,
  /** Path to the App's `.pem` file; used when PRIVATE_KEY is not set. */
  PRIVATE_KEY_PATH: optionalText,
  /** Required: without it Probot would verify signatures against the string "development". */
  WEBHOOK_SECRET: z.string({ error: "is required (the secret set on the GitHub App's webhook)" }).min(1, "is required (the secret set on the GitHub App's webhook)"),
  PORT: z
    .string()
    .default("3000")
    .refine((value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535, {
      message: "is not a port number (1-65535)",
    })
    .transform(Number),
  /** Interface to listen on; Probot's default is localhost. */
  HOST: optionalText,
  /** `web`: HTTP and intents only; `worker`: reconciler, notifier, background jobs; `all`: both. */
  EPHEMERA_ROLE: z.enum(ROLES, { error: "must be all, web or worker (all: one process does everything; web: HTTP and intents only; worker: reconciler, notifier, jobs)" }).default("all"),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"], { error: "must be json or pretty" }).optional(),
  /** GitHub Enterprise Server host (or a GitHub-compatible fake in tests). */
  GHE_HOST: optionalText.refine((value) => value === undefined || !/[/\s]/.test(value), {
    message: "must be a host name with an optional port, without protocol or path (e.g. github.example.com)",
  }),
  GHE_PROTOCOL: z.enum(["http", "https"], { error: "must be http or https" }).default("https"),
  /** Redis for state (and the pacing of GitHub writes across replicas); unset: the embedded store. */
  REDIS_URL: urlWithProtocols(["redis:", "rediss:"], "redis://host:6379 or rediss://…"),
  /** A Redis Cluster instead of REDIS_URL: some of its nodes (the rest are discovered). */
  EPHEMERA_REDIS_CLUSTER_NODES: hostPortList("redis-1:6379,redis-2:6379"),
  /** A master behind Sentinel instead of REDIS_URL: some of its sentinels, and the name they know the master by. */
  EPHEMERA_REDIS_SENTINELS: hostPortList("sentinel-1:26379,sentinel-2:26379"),
  EPHEMERA_REDIS_SENTINEL_MASTER: optionalText,
  EPHEMERA_KEY_PREFIX: z
    .string()
    .default("ephemera:")
    .refine((value) => !/[{}\s]/.test(value), { message: "must not contain braces or spaces (braces are the Redis Cluster hash tag)" }),
  /** Operator config file; unset: ./ephemera.config.yml when it exists. */
  EPHEMERA_CONFIG: optionalText,
  EPHEMERA_DATA_DIR: z.string().default("./data"),
  /** Bearer token for the dashboard and admin API; unset: they are off. */
  EPHEMERA_ADMIN_TOKEN: optionalText.refine((value) => value === undefined || value.length >= 16, {
    message: "must be at least 16 characters",
  }),
  /** Admin connection for the postgres provider. */
  EPHEMERA_POSTGRES_URL: urlWithProtocols(["postgres:", "postgresql:"], "postgres://user@host:5432/db"),
  /** Where steps reach PostgreSQL: the host and port of the database URLs issued to them (default EPHEMERA_POSTGRES_URL's, which step isolation blocks). */
  EPHEMERA_POSTGRES_STEP_URL: urlWithProtocols(["postgres:", "postgresql:"], "postgres://host:6432"),
  /**
   * Names of the postgres provider's databases and roles start with it; the
   * orphan audit removes only names under it, so two installs sharing one
   * PostgreSQL need different prefixes.
   */
  EPHEMERA_POSTGRES_PREFIX: z
    .string()
    .default(DEFAULT_POSTGRES_PREFIX)
    .refine((value) => POSTGRES_PREFIX_PATTERN.test(value), {
      message: 'must be lower-case letters, digits and "_", start with a letter, end with "_", at most 24 characters (e.g. eph_staging_)',
    }),
  /**
   * Set to 1 once, when the store was last written by a release before the
   * replica registry (store protocol 2) and every replica of that release
   * has been stopped: such replicas register nothing, so this one cannot
   * tell that they are gone (see lifecycle/replicas.ts).
   */
  EPHEMERA_STORE_TAKEOVER: z
    .enum(["0", "1"], { error: "must be 1 (every replica of the earlier release is stopped: take the store over) or 0" })
    .default("0")
    .transform((value) => value === "1"),
  /** How often each replica compares its environments with GitHub's open PRs. */
  EPHEMERA_RESYNC_INTERVAL: durationVariable("10m"),
  /** How often each replica asks GitHub to redeliver failed webhook deliveries. */
  EPHEMERA_REDELIVERY_INTERVAL: durationVariable("5m"),
  /** How often each replica removes provider resources no environment claims. */
  EPHEMERA_AUDIT_INTERVAL: durationVariable("1h"),
  /** The most orphaned environments one audit run removes the resources of, per provider (`audit --force` lifts it). */
  EPHEMERA_AUDIT_MAX_REMOVALS: intVariable("20", 1, 100_000),
  /** The largest share, in percent, of the environments a provider lists that one audit run removes (`audit --force` lifts it). */
  EPHEMERA_AUDIT_MAX_SHARE: intVariable("50", 1, 100),
  /**
   * Key material for sealing secret step outputs in the store, comma-separated
   * during a rotation: new seals use the first, unsealing tries each in turn.
   * Unset: WEBHOOK_SECRET, as one key.
   */
  EPHEMERA_SECRET_KEY: optionalText
    .transform((value) => value?.split(",").map((key) => key.trim()))
    .refine((keys) => keys === undefined || keys.every((key) => key.length >= 32), {
      message: "must be one key of at least 32 characters, or several separated by commas (the newest first), each at least 32 characters",
    }),
  /** How `run` steps are confined (DESIGN §7): auto (a uid each as root, bubblewrap otherwise) or off. */
  EPHEMERA_STEP_ISOLATION: z.enum(["auto", "off"], { error: "must be auto or off" }).default("auto"),
  /** As root: the uids (and gids) environments' steps run as, one per environment on a host. */
  EPHEMERA_STEP_UID_RANGE: uidRange,
  /** The environments' working directories; must not be inside the data directory (which steps cannot enter). */
  EPHEMERA_WORKDIRS: z.string().default("./workdirs"),
  /** Processes (threads included) one step may have at once. */
  EPHEMERA_STEP_MAX_PROCESSES: z
    .string()
    .default("512")
    .refine((value) => /^\d{1,6}$/.test(value) && Number(value) >= 16, { message: "must be a whole number of at least 16" })
    .transform(Number),
  /** Memory one step may use. */
  EPHEMERA_STEP_MEMORY: byteSize,
  /**
   * GitHub writes (POST, PATCH, PUT, DELETE) per second per installation,
   * across every replica: the refill rate of the installation's bucket in the store.
   */
  EPHEMERA_GITHUB_WRITES_PER_SECOND: positiveNumber("1", "a number of writes per second above 0 (e.g. 1 or 0.5)", 50),
  /** Writes an idle installation may make at once before the pace applies: the bucket's size. */
  EPHEMERA_GITHUB_WRITE_BURST: positiveNumber("5", "a whole number of writes, at least 1", 100).refine(Number.isInteger, { message: "must be a whole number of writes, at least 1" }),
});

/** How much one orphan audit run may remove (the audit in src/providers/audit.ts applies it). */
export interface AuditBounds {
  /** Orphaned environments whose resources one run removes, per provider. */
  readonly maxRemovals: number;
  /** Of the environments a provider lists (claimed or not), the share one run may remove: 0 to 1. */
  readonly maxShare: number;
}

export interface AppEnv {
  /** EPHEMERA_ROLE: what this process does; `web` and `worker` only on Redis. */
  role: Role;
  appId: number;
  privateKey: { pem: string } | { path: string };
  webhookSecret: string;
  port: number;
  host: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: "json" | "pretty";
  /** `https://api.github.com`, or `<protocol>://<GHE_HOST>/api/v3`. */
  githubBaseUrl: string;
  redisUrl: string | undefined;
  /** A Redis Cluster or a master behind Sentinel, in place of `redisUrl` (DESIGN §2). */
  redisNodes: RedisNodes | undefined;
  keyPrefix: string;
  configPath: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  postgresUrl: string | undefined;
  /** The host and port steps reach PostgreSQL at, when not the admin endpoint's. */
  postgresStepUrl: string | undefined;
  postgresPrefix: string;
  /** EPHEMERA_STORE_TAKEOVER: start on a store an earlier release (which registers no replicas) wrote, its replicas being stopped. */
  storeTakeover: boolean;
  /** Sealing keys, newest first: the first seals, each unseals (EPHEMERA_SECRET_KEY, else WEBHOOK_SECRET). */
  secretKeys: readonly string[];
  /** Background jobs (DESIGN §8), in ms. */
  intervals: { resyncMs: number; redeliveryMs: number; auditMs: number };
  /** How much one orphan audit run may remove. */
  auditBounds: AuditBounds;
  /** How `run` steps are confined (DESIGN §7 "Isolation"). */
  steps: {
    isolation: "auto" | "off";
    uidRange: { first: number; last: number };
    /** As given (relative to the working directory). */
    workdirs: string;
    maxProcesses: number;
    memoryBytes: number;
    /** The key file (PRIVATE_KEY_PATH) and `.env`, as given: hidden from steps where the sandbox shows the filesystem. */
    secretFiles: string[];
  };
  /** Each installation's bucket for GitHub writes, shared by every replica through the store (DESIGN §2). */
  githubWrites: TokenBucketLimit;
}

/** The nodes of a Redis Cluster, or the sentinels of a master and its name. */
export type RedisNodes = { cluster: HostPort[] } | { sentinels: HostPort[]; master: string };

type RedisVariables = "REDIS_URL" | "EPHEMERA_REDIS_CLUSTER_NODES" | "EPHEMERA_REDIS_SENTINELS" | "EPHEMERA_REDIS_SENTINEL_MASTER";

/** At most one way to reach Redis; Sentinel needs both of its variables. */
function redisNodesOf(value: Pick<z.output<typeof envSchema>, RedisVariables>): RedisNodes | undefined {
  const { REDIS_URL, EPHEMERA_REDIS_CLUSTER_NODES: cluster, EPHEMERA_REDIS_SENTINELS: sentinels, EPHEMERA_REDIS_SENTINEL_MASTER: master } = value;
  const ways = [REDIS_URL && "REDIS_URL", cluster && "EPHEMERA_REDIS_CLUSTER_NODES", sentinels && "EPHEMERA_REDIS_SENTINELS"].filter(Boolean);
  if (ways.length > 1) throw new EnvError([`${ways.join(" and ")} are set together: set only one of them`]);
  if (sentinels && !master) throw new EnvError(["EPHEMERA_REDIS_SENTINEL_MASTER is required with EPHEMERA_REDIS_SENTINELS (the name the sentinels monitor the master by)"]);
  if (master && !sentinels) throw new EnvError(["EPHEMERA_REDIS_SENTINEL_MASTER is set without EPHEMERA_REDIS_SENTINELS (the sentinels to ask for that master)"]);
  if (cluster) return { cluster };
  return sentinels && master ? { sentinels, master } : undefined;
}

export function readEnv(env: Record<string, string | undefined>): AppEnv {
  const value = parseEnv(envSchema, env);
  const privateKey = privateKeyOf(value);
  if (!privateKey) {
    throw new EnvError(["PRIVATE_KEY is required (or PRIVATE_KEY_PATH, the path to the App's .pem file)"]);
  }
  const shared = sharedSettings(value, env);
  if (shared.role !== "all" && shared.redisUrl === undefined && shared.redisNodes === undefined) {
    throw new EnvError([
      `EPHEMERA_ROLE=${shared.role} needs Redis (REDIS_URL, EPHEMERA_REDIS_CLUSTER_NODES or EPHEMERA_REDIS_SENTINELS): the embedded store is one file that one process owns, so it runs with EPHEMERA_ROLE=all only`,
    ]);
  }
  return {
    ...shared,
    appId: Number(value.APP_ID),
    privateKey,
    webhookSecret: value.WEBHOOK_SECRET,
    secretKeys: value.EPHEMERA_SECRET_KEY ?? [value.WEBHOOK_SECRET],
  };
}

/**
 * The operator CLI reads the server's variables (from the environment or
 * `.env`), but most of its commands work on the store alone: the App's
 * credentials and the webhook secret are optional here, and the commands
 * that need them say so when they run.
 */
const cliEnvSchema = envSchema.extend({
  APP_ID: envSchema.shape.APP_ID.optional(),
  WEBHOOK_SECRET: optionalText,
  /** The CLI's answer is its output; its log (on stderr) shows only warnings unless asked. */
  LOG_LEVEL: envSchema.shape.LOG_LEVEL.unwrap().default("warn"),
});

/** Everything but the credentials, read the same way for the server and the CLI. */
type SharedSettings = Omit<AppEnv, "appId" | "privateKey" | "webhookSecret" | "secretKeys">;

export interface CliEnv extends SharedSettings {
  /** Present when APP_ID and a private key are both set: only commands that talk to GitHub need them. */
  github: { appId: number; privateKey: AppEnv["privateKey"] } | undefined;
  /** As the server derives it (EPHEMERA_SECRET_KEY, else WEBHOOK_SECRET); needed only by commands that run the reconciler. */
  secretKeys: readonly string[] | undefined;
}

export function readCliEnv(env: Record<string, string | undefined>): CliEnv {
  const value = parseEnv(cliEnvSchema, env);
  const privateKey = privateKeyOf(value);
  return {
    ...sharedSettings(value, env),
    github: value.APP_ID !== undefined && privateKey !== undefined ? { appId: Number(value.APP_ID), privateKey } : undefined,
    secretKeys: value.EPHEMERA_SECRET_KEY ?? (value.WEBHOOK_SECRET === undefined ? undefined : [value.WEBHOOK_SECRET]),
  };
}

function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  // An empty line in .env (`PORT=`) means "not set", as it does for Probot.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));
  const parsed = schema.safeParse(set);
  if (!parsed.success) {
    throw new EnvError(parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`));
  }
  return parsed.data;
}

function privateKeyOf(value: { PRIVATE_KEY?: string | undefined; PRIVATE_KEY_PATH?: string | undefined }): AppEnv["privateKey"] | undefined {
  return value.PRIVATE_KEY ? { pem: value.PRIVATE_KEY } : value.PRIVATE_KEY_PATH ? { path: value.PRIVATE_KEY_PATH } : undefined;
}

function sharedSettings(value: z.output<typeof cliEnvSchema>, env: Record<string, string | undefined>): SharedSettings {
  return {
    role: value.EPHEMERA_ROLE,
    port: value.PORT,
    host: value.HOST,
    logLevel: value.LOG_LEVEL,
    logFormat: value.LOG_FORMAT ?? (env.NODE_ENV === "production" ? "json" : "pretty"),
    githubBaseUrl: value.GHE_HOST ? `${value.GHE_PROTOCOL}://${value.GHE_HOST}/api/v3` : "https://api.github.com",
    redisUrl: value.REDIS_URL,
    redisNodes: redisNodesOf(value),
    keyPrefix: value.EPHEMERA_KEY_PREFIX,
    configPath: value.EPHEMERA_CONFIG,
    dataDir: value.EPHEMERA_DATA_DIR,
    adminToken: value.EPHEMERA_ADMIN_TOKEN,
    postgresUrl: value.EPHEMERA_POSTGRES_URL,
    postgresStepUrl: value.EPHEMERA_POSTGRES_STEP_URL,
    postgresPrefix: value.EPHEMERA_POSTGRES_PREFIX,
    storeTakeover: value.EPHEMERA_STORE_TAKEOVER,
    intervals: {
      resyncMs: value.EPHEMERA_RESYNC_INTERVAL,
      redeliveryMs: value.EPHEMERA_REDELIVERY_INTERVAL,
      auditMs: value.EPHEMERA_AUDIT_INTERVAL,
    },
    auditBounds: { maxRemovals: value.EPHEMERA_AUDIT_MAX_REMOVALS, maxShare: value.EPHEMERA_AUDIT_MAX_SHARE / 100 },
    steps: {
      isolation: value.EPHEMERA_STEP_ISOLATION,
      uidRange: value.EPHEMERA_STEP_UID_RANGE,
      workdirs: value.EPHEMERA_WORKDIRS,
      maxProcesses: value.EPHEMERA_STEP_MAX_PROCESSES,
      memoryBytes: value.EPHEMERA_STEP_MEMORY,
      secretFiles: [...(value.PRIVATE_KEY_PATH ? [value.PRIVATE_KEY_PATH] : []), ".env"],
    },
    githubWrites: { perSecond: value.EPHEMERA_GITHUB_WRITES_PER_SECOND, burst: value.EPHEMERA_GITHUB_WRITE_BURST },  };
}
