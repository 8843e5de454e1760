import { describe, expect, it } from "vitest";
import { EnvError, readEnv } from "../../src/config/env.js";

const minimal = { APP_ID: "123", PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----", WEBHOOK_SECRET: "s3cret" };

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    readEnv(env);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  throw new Error("readEnv accepted the environment");
}

describe("readEnv", () => {
  it("needs only the App id, its key and the webhook secret", () => {
    const env = readEnv(minimal);
    expect(env).toMatchObject({
      appId: 123,
      privateKey: { pem: minimal.PRIVATE_KEY },
      webhookSecret: "s3cret",
      port: 3000,
      githubBaseUrl: "https://api.github.com",
      redisUrl: undefined,
      keyPrefix: "ephemera:",
      dataDir: "./data",
      postgresPrefix: "eph_",
      logLevel: "info",
    });
  });

  it("runs everything in one process unless EPHEMERA_ROLE says web or worker, which need Redis", () => {
    expect(readEnv(minimal).role).toBe("all");
    for (const role of ["web", "worker"] as const) {
      expect(readEnv({ ...minimal, EPHEMERA_ROLE: role, REDIS_URL: "redis://127.0.0.1:6379" }).role).toBe(role);
      expect(readEnv({ ...minimal, EPHEMERA_ROLE: role, EPHEMERA_REDIS_CLUSTER_NODES: "redis-1:6379" }).role).toBe(role);
      expect(problemsOf({ ...minimal, EPHEMERA_ROLE: role })).toEqual([
        `EPHEMERA_ROLE=${role} needs Redis (REDIS_URL, EPHEMERA_REDIS_CLUSTER_NODES or EPHEMERA_REDIS_SENTINELS): the embedded store is one file that one process owns, so it runs with EPHEMERA_ROLE=all only`,
      ]);
    }
    expect(problemsOf({ ...minimal, EPHEMERA_ROLE: "api" })).toEqual([
      "EPHEMERA_ROLE must be all, web or worker (all: one process does everything; web: HTTP and intents only; worker: reconciler, notifier, jobs)",
    ]);
  });

  it("isolates steps by default, with the documented limits, and reads the step settings", () => {
    expect(readEnv({ ...minimal, PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: "/srv/app.pem" }).steps).toEqual({
      isolation: "auto",
      uidRange: { first: 2_000_000_000, last: 2_000_065_535 },
      workdirs: "./workdirs",
      maxProcesses: 512,
      memoryBytes: 2 * 1024 ** 3,
      secretFiles: ["/srv/app.pem", ".env"],
    });
    const env = readEnv({ ...minimal, EPHEMERA_STEP_ISOLATION: "off", EPHEMERA_STEP_UID_RANGE: "3000000-3000009", EPHEMERA_STEP_MEMORY: "512m", EPHEMERA_STEP_MAX_PROCESSES: "64" });
    expect(env.steps).toMatchObject({ isolation: "off", uidRange: { first: 3_000_000, last: 3_000_009 }, memoryBytes: 512 * 1024 ** 2, maxProcesses: 64 });
  });

  it("treats an empty value as unset, as a copied .env.example leaves them", () => {
    const env = readEnv({ ...minimal, PORT: "", REDIS_URL: "", LOG_FORMAT: "", GHE_HOST: " " });
    expect(env.port).toBe(3000);
    expect(env.redisUrl).toBeUndefined();
    expect(env.githubBaseUrl).toBe("https://api.github.com");
  });

  it.each([
    [{ WEBHOOK_SECRET: undefined }, /^WEBHOOK_SECRET is required/],
    [{ PORT: "abc" }, /^PORT is not a port number/],
    [{ PORT: "70000" }, /^PORT is not a port number/],
    [{ REDIS_URL: "localhost:6379" }, /^REDIS_URL is not a valid URL/],
    [{ REDIS_URL: "http://127.0.0.1:6379" }, /^REDIS_URL is not a valid URL/],
    [{ APP_ID: "my-app" }, /^APP_ID must be the GitHub App's numeric id/],
    [{ APP_ID: undefined }, /^APP_ID is required/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL must be one of/],
    [{ GHE_HOST: "https://github.example.com" }, /^GHE_HOST must be a host name/],
    [{ EPHEMERA_KEY_PREFIX: "a{b}:" }, /^EPHEMERA_KEY_PREFIX must not contain braces/],
    [{ EPHEMERA_POSTGRES_URL: "mysql://x" }, /^EPHEMERA_POSTGRES_URL is not a valid URL/],
    [{ EPHEMERA_POSTGRES_PREFIX: "Eph-" }, /^EPHEMERA_POSTGRES_PREFIX must be lower-case letters/],
    [{ EPHEMERA_POSTGRES_PREFIX: "eph" }, /^EPHEMERA_POSTGRES_PREFIX must be lower-case letters/],
    [{ EPHEMERA_ADMIN_TOKEN: "short" }, /^EPHEMERA_ADMIN_TOKEN must be at least 16/],
    [{ EPHEMERA_STEP_ISOLATION: "none" }, /^EPHEMERA_STEP_ISOLATION must be auto or off/],
    [{ EPHEMERA_STEP_UID_RANGE: "1000-2000" }, /^EPHEMERA_STEP_UID_RANGE must be first-last, both above 65535/],
    [{ EPHEMERA_STEP_UID_RANGE: "2000000000-3000000000" }, /^EPHEMERA_STEP_UID_RANGE must be first-last/],
    [{ EPHEMERA_STEP_MAX_PROCESSES: "8" }, /^EPHEMERA_STEP_MAX_PROCESSES must be a whole number of at least 16/],
    [{ EPHEMERA_STEP_MEMORY: "10m" }, /^EPHEMERA_STEP_MEMORY must be a size of at least 64m/],
    [{ EPHEMERA_REDIS_CLUSTER_NODES: "redis-1" }, /^EPHEMERA_REDIS_CLUSTER_NODES must be host:port pairs/],
    [{ EPHEMERA_REDIS_CLUSTER_NODES: "redis://redis-1:6379" }, /^EPHEMERA_REDIS_CLUSTER_NODES must be host:port pairs/],
    [{ EPHEMERA_REDIS_SENTINELS: "s-1:26379,s-2:0" }, /^EPHEMERA_REDIS_SENTINELS must be host:port pairs/],
    [{ EPHEMERA_REDIS_SENTINELS: "s-1:26379" }, /^EPHEMERA_REDIS_SENTINEL_MASTER is required with EPHEMERA_REDIS_SENTINELS/],
    [{ EPHEMERA_REDIS_SENTINEL_MASTER: "mymaster" }, /^EPHEMERA_REDIS_SENTINEL_MASTER is set without EPHEMERA_REDIS_SENTINELS/],
    [{ REDIS_URL: "redis://r:6379", EPHEMERA_REDIS_CLUSTER_NODES: "r:6379" }, /^REDIS_URL and EPHEMERA_REDIS_CLUSTER_NODES are set together: set only one/],
  ])("names the variable and the problem: %j", (override, expected) => {
    const problems = problemsOf({ ...minimal, ...override });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it("reads a Redis Cluster's nodes, or Sentinel's and the master's name, in place of REDIS_URL", () => {
    expect(readEnv(minimal).redisNodes).toBeUndefined();
    expect(readEnv({ ...minimal, EPHEMERA_REDIS_CLUSTER_NODES: "redis-1:6379, 10.0.0.2:7000,[::1]:7001" }).redisNodes).toEqual({
      cluster: [
        { host: "redis-1", port: 6379 },
        { host: "10.0.0.2", port: 7000 },
        { host: "::1", port: 7001 },
      ],
    });
    expect(readEnv({ ...minimal, EPHEMERA_REDIS_SENTINELS: "s-1:26379,s-2:26379", EPHEMERA_REDIS_SENTINEL_MASTER: "mymaster" }).redisNodes).toEqual({
      sentinels: [
        { host: "s-1", port: 26379 },
        { host: "s-2", port: 26379 },
      ],
      master: "mymaster",
    });
  });

  it("asks for a private key when neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set", () => {
    expect(problemsOf({ ...minimal, PRIVATE_KEY: undefined })).toEqual([
      "PRIVATE_KEY is required (or PRIVATE_KEY_PATH, the path to the App's .pem file)",
    ]);
  });

  it("reports every problem at once", () => {
    expect(problemsOf({ PORT: "abc" })).toHaveLength(3);
  });

  it("builds the GitHub Enterprise API URL from GHE_HOST and GHE_PROTOCOL", () => {
    const env = readEnv({ ...minimal, GHE_HOST: "127.0.0.1:8080", GHE_PROTOCOL: "http" });
    expect(env.githubBaseUrl).toBe("http://127.0.0.1:8080/api/v3");
  });

  it("paces GitHub writes at 1 a second with bursts of 5 per installation, unless told otherwise", () => {
    expect(readEnv(minimal).githubWrites).toEqual({ perSecond: 1, burst: 5 });
    expect(readEnv({ ...minimal, EPHEMERA_GITHUB_WRITES_PER_SECOND: "0.5", EPHEMERA_GITHUB_WRITE_BURST: "2" }).githubWrites).toEqual({ perSecond: 0.5, burst: 2 });
    expect(problemsOf({ ...minimal, EPHEMERA_GITHUB_WRITES_PER_SECOND: "0", EPHEMERA_GITHUB_WRITE_BURST: "1.5" })).toEqual([
      "EPHEMERA_GITHUB_WRITES_PER_SECOND must be a number of writes per second above 0 (e.g. 1 or 0.5), at most 50",
      "EPHEMERA_GITHUB_WRITE_BURST must be a whole number of writes, at least 1",
    ]);
  });

  it("derives the sealing key from the webhook secret unless one is given", () => {
    expect(readEnv(minimal).secretKeys).toEqual(["s3cret"]);
    const key = "k".repeat(32);
    expect(readEnv({ ...minimal, EPHEMERA_SECRET_KEY: key }).secretKeys).toEqual([key]);
  });

  it("takes previous sealing keys after the new one, each long enough", () => {
    const [next, previous] = ["n".repeat(32), "p".repeat(40)];
    expect(readEnv({ ...minimal, EPHEMERA_SECRET_KEY: `${next}, ${previous}` }).secretKeys).toEqual([next, previous]);
    expect(problemsOf({ ...minimal, EPHEMERA_SECRET_KEY: `${next},short` })).toEqual([
      "EPHEMERA_SECRET_KEY must be one key of at least 32 characters, or several separated by commas (the newest first), each at least 32 characters",
    ]);
  });
});
