import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ProbotOctokit } from "probot";
import { readEnv } from "../../src/config/env.js";
import type { EngineOptions } from "../../src/lifecycle/engine.js";
import { startEphemera, type RunningEphemera } from "../../src/start.js";
import type { StateStore } from "../../src/lifecycle/state-store.js";
import type { testAppCredentials } from "./app-credentials.js";
import type { FakeGitHub } from "./fake-github.js";
import { freePort } from "./redis-server.js";
import { deliver } from "./webhooks.js";

/**
 * Ephemera started in the test's own process through its composition root
 * (`startEphemera`, what src/main.ts calls), listening on a free port of
 * 127.0.0.1: webhooks reach it over HTTP, signed, as GitHub sends them, and
 * the test reads the store the app writes. Cheaper than a child process
 * (test/helpers/app-process.ts).
 */

export interface InProcessApp {
  readonly running: RunningEphemera;
  /** The app's own store (closed by `stop`). */
  readonly store: StateStore;
  /** Where the operator config is: `run` steps run here. */
  readonly dir: string;
  /** Posts a signed webhook to the app; `deliveryId` repeats a delivery. */
  deliver(event: string, payload: object, deliveryId?: string): Promise<Response>;
  /** The app's recent log lines (JSON), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface InProcessAppOptions {
  credentials: ReturnType<typeof testAppCredentials>;
  /** Where GitHub is: the fake's `env`. */
  github: FakeGitHub["env"];
  redisUrl: string;
  /** A fresh prefix per app keeps its keys apart from any other test's. */
  keyPrefix: string;
  /** The operator's `ephemera.config.yml`, as text. */
  operatorConfig: string;
  engineOptions?: Partial<EngineOptions>;
  /** Sees every log line, at every level (the app then logs at `trace`). */
  onLog?: (line: string) => void;
  /** The reconciler's clock; default the wall clock. */
  now?: () => number;
}

/**
 * Timings for tests: the reconciler polls every 50 ms and a failing step is
 * retried once, quickly. Leases and claims keep their defaults: one worker
 * never contends with itself.
 */
export const FAST_ENGINE: Partial<EngineOptions> = {
  idlePollMs: 50,
  busyRetryMs: 100,
  errorRetryMs: 500,
  retry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100, jitter: 0 },
};

/**
 * Probot's Octokit without throttling and retry: throttling spaces writes a
 * second (comments three) apart, and a retried request would hide the
 * first one from the request counts. The function form of `defaults` runs
 * after Probot's own defaults, so these win.
 */
const UnthrottledOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { enabled: false },
})) as typeof ProbotOctokit;

const LOG_LINES_KEPT = 200;

export async function startInProcessApp(options: InProcessAppOptions): Promise<InProcessApp> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-in-process-"));
  const configPath = join(dir, "ephemera.config.yml");
  writeFileSync(configPath, options.operatorConfig);
  const port = await freePort();
  const env = readEnv({
    ...options.credentials,
    ...options.github,
    REDIS_URL: options.redisUrl,
    EPHEMERA_KEY_PREFIX: options.keyPrefix,
    EPHEMERA_CONFIG: configPath,
    // These tests are about GitHub and the lifecycle; steps write beside the operator config.
    EPHEMERA_STEP_ISOLATION: "off",
    PORT: String(port),
    HOST: "127.0.0.1",
  });
  const lines: string[] = [];
  const log = pino(
    { level: options.onLog === undefined ? (process.env.TEST_LOG_LEVEL ?? "info") : "trace" },
    {
      write(line: string) {
        options.onLog?.(line);
        lines.push(line);
        if (lines.length > LOG_LINES_KEPT) lines.shift();
      },
    },
  );
  const running = await startEphemera({
    env,
    log,
    engineOptions: { ...FAST_ENGINE, ...options.engineOptions },
    Octokit: UnthrottledOctokit,
    ...(options.now && { now: options.now }),
  });
  const url = `http://127.0.0.1:${port}/api/github/webhooks`;
  return {
    running,
    store: running.runtime.store,
    dir,
    deliver: (event, payload, deliveryId) =>
      deliver(url, event, payload, { secret: options.credentials.WEBHOOK_SECRET, ...(deliveryId === undefined ? {} : { deliveryId }) }),
    output: () => lines.join(""),
    async stop() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
