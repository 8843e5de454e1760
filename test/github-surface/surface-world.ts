import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { stringify } from "yaml";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { startInProcessApp, type InProcessApp } from "../helpers/in-process-app.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { PrHandle } from "./pr-handle.js";

/**
 * One test file's world for the GitHub surface: the fake GitHub API, a
 * private Redis and Ephemera in-process between them, and a handle per PR
 * (pr-handle.ts) that drives it and reads back what it shows. Every test
 * ends with no request the fake did not know.
 */

export const OWNER = "octo";
export const INSTALLATION_ID = 77;

/**
 * The setup step every template here uses: it logs each run (repository, PR,
 * sha) to `steps.log` beside the operator config, so a test can tell exactly
 * what was provisioned, and gives the environment a URL.
 */
export const DEPLOY_STEP = {
  name: "deploy",
  run: 'echo "$EPHEMERA_REPO#$EPHEMERA_PR $EPHEMERA_SHA" >> steps.log && echo "url=http://127.0.0.1:9/pr-$EPHEMERA_PR" >> "$EPHEMERA_OUTPUT"',
  onUpdate: true,
};

/** A head sha, told apart by `n` (its short form, the first 7 characters, too). */
export const sha = (n: number): string => `${String(n).padStart(7, "0")}0`.repeat(5);

export interface RepoSpec {
  name: string;
  id: number;
  /** `.github/ephemera.yml` on the default branch. */
  file?: string;
}

export interface WorldOptions {
  /** The operator config as an object (written as YAML). */
  operator: object;
  repos: RepoSpec[];
  /** Collaborator permissions, the same on every repository. */
  permissions?: Record<string, "read" | "write" | "admin">;
}

export class SurfaceWorld {
  gh!: FakeGitHub;
  app!: InProcessApp;
  private redis!: PrivateRedis;
  private clock = Date.now() - 10 * 60_000;
  /** How far the app's reconciler clock runs ahead of the wall clock. */
  private reconcilerAheadMs = 0;

  /** GitHub's event times: a second apart, in the recent past, always increasing. */
  tick(): Date {
    this.clock += 1000;
    return new Date(this.clock);
  }

  /** Moves the app's reconciler clock to `at` (ms since the epoch), from where it runs on: a test need not wait for an expiry. */
  setReconcilerClock(at: number): void {
    this.reconcilerAheadMs = at - Date.now();
  }

  async start(options: WorldOptions): Promise<void> {
    const credentials = testAppCredentials();
    this.gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
    for (const repo of options.repos) {
      this.gh.addRepo({ id: repo.id, owner: OWNER, name: repo.name, installationId: INSTALLATION_ID });
      if (repo.file !== undefined) this.gh.setFile(`${OWNER}/${repo.name}`, ".github/ephemera.yml", repo.file);
      for (const [login, level] of Object.entries(options.permissions ?? {})) this.gh.setPermission(`${OWNER}/${repo.name}`, login, level);
    }
    this.redis = await startPrivateRedis();
    this.app = await startInProcessApp({
      credentials,
      github: this.gh.env,
      redisUrl: this.redis.url,
      keyPrefix: "surface:",
      operatorConfig: stringify(options.operator),
      now: () => Date.now() + this.reconcilerAheadMs,
    });
  }

  async stop(): Promise<void> {
    await this.app?.stop();
    await this.redis?.stop();
    await this.gh?.close();
  }

  pr(repo: RepoSpec, pr: number, forkOwner?: string): PrHandle {
    return new PrHandle(this, { repoId: repo.id, owner: OWNER, name: repo.name, installationId: INSTALLATION_ID, pr, ...(forkOwner && { forkOwner }) });
  }

  async send(event: string, payload: object, deliveryId?: string): Promise<void> {
    const response = await this.app.deliver(event, payload, deliveryId);
    expect(response.status, this.describe()).toBe(200);
  }

  /** Waits until `check` holds; on timeout the failure shows the app's log and GitHub's requests. */
  async until(check: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void> {
    await waitFor(check, () => this.describe(), timeoutMs);
  }

  stepLog(): string[] {
    const file = join(this.app.dir, "steps.log");
    return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : [];
  }

  describe(): string {
    const requests = this.gh.requests.map((request) => `${request.status} ${request.method} ${request.path}`).join("\n");
    return `app log:\n${this.app.output()}\nGitHub requests:\n${requests}`;
  }
}

/** A world started before the file's tests and stopped after them; each test ends with no unexpected request, and none invalid against GitHub's OpenAPI description. */
export function useSurfaceWorld(options: WorldOptions): SurfaceWorld {
  const world = new SurfaceWorld();
  beforeAll(() => world.start(options));
  afterAll(() => world.stop());
  afterEach(() => {
    expect(world.gh.unexpected, "requests the fake GitHub did not know").toEqual([]);
    world.gh.assertValidRequests();
  });
  return world;
}
