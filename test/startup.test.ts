import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { testAppCredentials } from "./helpers/app-credentials.js";
import { runMainToExit, spawnApp } from "./helpers/app-process.js";
import { freePort, startPrivateRedis, type PrivateRedis } from "./helpers/redis-server.js";
import { waitFor } from "./helpers/wait-for.js";
import { deliver, examplePayload } from "./helpers/webhooks.js";

/** GitHub is a closed loopback port: nothing here may reach the network, and refusals come fast. */
const credentials = { ...testAppCredentials(), GHE_HOST: "127.0.0.1:1", GHE_PROTOCOL: "http" };
const PRIVATE_KEY_PEM = credentials.PRIVATE_KEY;

describe("start-up configuration errors", () => {
  it.each([
    ["WEBHOOK_SECRET missing", { WEBHOOK_SECRET: "" }, /^ephemera: WEBHOOK_SECRET is required/],
    ["PORT=abc", { PORT: "abc" }, /^ephemera: PORT is not a port number/],
    ["a malformed REDIS_URL", { REDIS_URL: "not a url" }, /^ephemera: REDIS_URL is not a valid URL/],
    ["a private key that is not one", { PRIVATE_KEY: "hello" }, /^ephemera: PRIVATE_KEY is not a PEM private key/],
  ])("%s: exits non-zero with one line naming it", async (_, override, expected) => {
    const { code, stdout, stderr } = await runMainToExit({ ...credentials, ...override });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(expected);
  });
});

describe("secret files other users can read", () => {
  const { PRIVATE_KEY, ...withoutKey } = credentials;

  it.each([
    ["0644", 0o644],
    ["0640", 0o640],
  ])("the PRIVATE_KEY_PATH file at mode %s: exits 1 with one line naming it and the chmod to run", async (_, mode) => {
    let keyFile = "";
    const { code, stdout, stderr } = await runMainToExit({ ...withoutKey, PRIVATE_KEY_PATH: "app.pem" }, (cwd) => {
      keyFile = join(cwd, "app.pem");
      writeFileSync(keyFile, PRIVATE_KEY, { mode });
    });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr.trimEnd()).toBe(
      `ephemera: PRIVATE_KEY_PATH ${keyFile} can be read by other users (mode 0${mode.toString(8)}): run \`chmod 600 ${keyFile}\``,
    );
  });

  it("a .env in the working directory at mode 0644: exits 1 before reading it, naming it and the chmod to run", async () => {
    let dotEnvFile = "";
    const { code, stdout, stderr } = await runMainToExit({}, (cwd) => {
      dotEnvFile = join(cwd, ".env");
      const dotEnv = Object.entries(credentials).map(([name, value]) => `${name}="${value.replaceAll("\n", "\\n")}"`);
      writeFileSync(dotEnvFile, `${dotEnv.join("\n")}\n`, { mode: 0o644 });
    });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr.trimEnd()).toBe(`ephemera: the .env file ${dotEnvFile} can be read by other users (mode 0644): run \`chmod 600 ${dotEnvFile}\``);
  });
});

/** What the store logs on each failed attempt to reach Redis (src/store/open-store.ts). */
const REDIS_RETRY_LOG = "Redis connection error; retrying";
/** Failed attempts that take the reconnect backoff (100 ms, doubling) past its 1 s cap: the client keeps trying. */
const ATTEMPTS_PAST_BACKOFF_CAP = 6;

describe("a running app", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("with only the three variables: listens, uses the embedded store under ./data, is healthy and ready", async () => {
    const app = await spawnApp({ env: credentials });
    try {
      expect((await fetch(app.url("/healthz"))).status).toBe(200);
      const ready = await fetch(app.url("/readyz"));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready", store: "sqlite" });
      expect(readFileSync(`${app.cwd}/data/ephemera.sqlite`).length).toBeGreaterThan(0);
    } finally {
      await app.dispose();
    }
  });

  it("with the quick-start layout (.env and key file at 0600): starts, and keeps its data dir 0700 and every store file 0600", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "ephemera-app-"));
    writeFileSync(join(cwd, "app.pem"), PRIVATE_KEY_PEM, { mode: 0o600 });
    writeFileSync(join(cwd, ".env"), `APP_ID=${credentials.APP_ID}\nWEBHOOK_SECRET=${credentials.WEBHOOK_SECRET}\nPRIVATE_KEY_PATH=app.pem\n`, { mode: 0o600 });
    const { APP_ID: _id, WEBHOOK_SECRET: _secret, PRIVATE_KEY: _key, ...rest } = credentials;
    const app = await spawnApp({ env: rest, cwd });
    try {
      expect((await fetch(app.url("/readyz"))).status).toBe(200);
      // A signed delivery makes the store write (and so create its journal).
      const payload = { ...examplePayload("pull_request", "opened"), installation: { id: 7, node_id: "MDIz" } };
      expect((await deliver(app.url("/api/github/webhooks"), "pull_request", payload, { secret: credentials.WEBHOOK_SECRET })).status).toBe(200);
      const dataDir = join(cwd, "data");
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const files = readdirSync(dataDir);
      expect(files).toEqual(expect.arrayContaining(["ephemera.sqlite", "ephemera.sqlite-wal", "ephemera.sqlite-shm"]));
      for (const file of files) expect([file, statSync(join(dataDir, file)).mode & 0o777]).toEqual([file, 0o600]);
    } finally {
      await app.dispose();
    }
  });

  it("with REDIS_URL: uses Redis", async () => {
    const app = await spawnApp({ env: { ...credentials, REDIS_URL: redis.url, EPHEMERA_KEY_PREFIX: "startup-test:" } });
    try {
      const ready = await fetch(app.url("/readyz"));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready", store: "redis" });
    } finally {
      await app.dispose();
    }
  });

  it("with REDIS_URL where nothing listens: /readyz is 503 naming the store, and the process keeps retrying without crashing", async () => {
    const deadPort = await freePort();
    const app = await spawnApp({ env: { ...credentials, REDIS_URL: `redis://127.0.0.1:${deadPort}` } });
    try {
      const ready = await fetch(app.url("/readyz"));
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { store: string; reason: string };
      expect(body.store).toBe("redis");
      // The class of failure only: the raw error would name the host and port.
      expect(["store unreachable", "store timeout"]).toContain(body.reason);
      // Alive after the reconnect backoff reached its cap, not merely after a while.
      await waitFor(() => app.output().split(REDIS_RETRY_LOG).length > ATTEMPTS_PAST_BACKOFF_CAP, () => app.output());
      expect(app.child.exitCode).toBeNull();
      expect((await fetch(app.url("/healthz"))).status).toBe(200);
    } finally {
      await app.dispose();
    }
  });

  it("answers a webhook with a wrong or missing signature with 4xx and writes nothing; a signed one is kept across a restart", async () => {
    const app = await spawnApp({ env: credentials });
    const payload: Record<string, any> = { ...examplePayload("pull_request", "opened"), installation: { id: 7, node_id: "MDIz" } };
    const repoId = payload.repository.id as number;
    const url = app.url("/api/github/webhooks");
    const storedRepos = async () => {
      const store = openSqliteStore({ dataDir: `${app.cwd}/data`, prefix: "ephemera:" });
      try {
        return await store.listRepos();
      } finally {
        await store.close();
      }
    };
    try {
      const wrong = await deliver(url, "pull_request", payload, { secret: "not-the-secret" });
      const missing = await deliver(url, "pull_request", payload, { secret: credentials.WEBHOOK_SECRET, signature: null });
      for (const response of [wrong, missing]) {
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
      }
      expect(await storedRepos()).toEqual([]);

      const signed = await deliver(url, "pull_request", payload, { secret: credentials.WEBHOOK_SECRET });
      expect(signed.status).toBe(200);
      expect(await storedRepos()).toEqual([repoId]);

      expect(await app.stop()).toBe(0);
      expect(await storedRepos()).toEqual([repoId]);
      const restarted = await spawnApp({ env: credentials, cwd: app.cwd });
      try {
        expect((await fetch(restarted.url("/readyz"))).status).toBe(200);
        expect(await storedRepos()).toEqual([repoId]);
      } finally {
        await restarted.stop();
      }
    } finally {
      await app.dispose();
    }
  }, 90_000);
});
