import { describe, expect, it } from "vitest";
import { EnvError, readCliEnv, readEnv } from "../../src/config/env.js";

// The CLI reads the server's variables, with the App's credentials optional.

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    readCliEnv(env);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  throw new Error("readCliEnv accepted the environment");
}

describe("readCliEnv", () => {
  it("needs nothing: no App id, key or webhook secret, and then no GitHub and no sealing key", () => {
    expect(readCliEnv({})).toMatchObject({ github: undefined, secretKeys: undefined, keyPrefix: "ephemera:", dataDir: "./data", redisUrl: undefined, logLevel: "warn" });
  });

  it("reads everything the server reads the same way", () => {
    const env = { APP_ID: "123", PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----", WEBHOOK_SECRET: "s3cret", REDIS_URL: "redis://127.0.0.1:6379", GHE_HOST: "ghe.example.com", LOG_LEVEL: "info" };
    const { appId, privateKey, webhookSecret, ...server } = readEnv(env);
    const { github, ...cli } = readCliEnv(env);
    expect(github).toEqual({ appId, privateKey });
    expect(webhookSecret).toBe("s3cret");
    expect(cli).toEqual(server);
  });

  it("has GitHub only when both the App id and a key are set", () => {
    expect(readCliEnv({ APP_ID: "1" }).github).toBeUndefined();
    expect(readCliEnv({ PRIVATE_KEY_PATH: "app.pem" }).github).toBeUndefined();
    expect(readCliEnv({ APP_ID: "1", PRIVATE_KEY_PATH: "app.pem" }).github).toEqual({ appId: 1, privateKey: { path: "app.pem" } });
  });

  it("derives the sealing key as the server does", () => {
    expect(readCliEnv({ WEBHOOK_SECRET: "s3cret" }).secretKeys).toEqual(["s3cret"]);
    const key = "k".repeat(32);
    expect(readCliEnv({ WEBHOOK_SECRET: "s3cret", EPHEMERA_SECRET_KEY: `${key},${key}x` }).secretKeys).toEqual([key, `${key}x`]);
  });

  it.each([
    [{ APP_ID: "my-app" }, /^APP_ID must be the GitHub App's numeric id/],
    [{ REDIS_URL: "localhost:6379" }, /^REDIS_URL is not a valid URL/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL must be one of/],
    [{ EPHEMERA_SECRET_KEY: "short" }, /^EPHEMERA_SECRET_KEY must be one key of at least 32 characters/],
  ])("still names a bad variable: %j", (env, expected) => {
    expect(problemsOf(env)).toEqual([expect.stringMatching(expected)]);
  });
});
