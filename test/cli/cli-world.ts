import { randomBytes } from "node:crypto";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { STORE_PROTOCOL } from "../../src/lifecycle/replicas.js";
import { markRegistry } from "../../src/replica-membership.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { ExportedKey, StateStore } from "../../src/lifecycle/state-store.js";
import { closeIntent, openIntent } from "../lifecycle/harness.js";
import { makeWorld, SECRET_KEY, type World } from "../lifecycle/world.js";
import type { PrivateRedis } from "../helpers/redis-server.js";
import { FakePostgres, SECRETS, tempDir, writeOperatorConfig } from "./cli-harness.js";

/**
 * A store holding environments the lifecycle engine made (test/lifecycle's
 * world: real run steps, a real reconciler), for the CLI to work on: three
 * repositories, one with a template whose steps leave secrets behind.
 */

export const REPOS = {
  /** Template `default`: a "postgres" step (a sealed secret), a deploy URL with credentials, an `api_token` output. */
  web: { id: 1001, name: "acme/web" },
  /** Template `plain`: run steps only. */
  api: { id: 1002, name: "acme/api" },
  /** Template `short`: expires two seconds after it is created. */
  short: { id: 1003, name: "acme/short" },
} as const;

const TEMPLATE_OF: Record<number, string> = { [REPOS.api.id]: "plain", [REPOS.short.id]: "short" };

export const OPERATOR_CONFIG = {
  templates: {
    default: {
      ttl: "2h",
      maxTtl: "1d",
      steps: [
        { name: "database", uses: "postgres" },
        { name: "deploy", run: "./step.sh deploy", env: { URL: `https://deployer:${SECRETS.deployCredential}@pr.preview.test/` } },
        // The value comes in under a name masking does not know (TOKEN would be masked at the source): what is left to test here is the CLI's redaction by output name.
        { name: "token", run: 'echo "api_token=$ISSUED" >> "$EPHEMERA_OUTPUT"', env: { ISSUED: SECRETS.apiToken } },
      ],
      teardown: [{ name: "undeploy", run: "./step.sh undeploy" }],
    },
    plain: { ttl: "2h", steps: [{ name: "build", run: "./step.sh build" }], teardown: [{ name: "undeploy", run: "./step.sh undeploy" }] },
    short: { ttl: "2s", warnBefore: "1s", steps: [{ name: "build", run: "./step.sh build" }] },
  },
};

export const SHA = "a".repeat(40);

export type StoreKind = "redis" | "sqlite";

export interface StoreFixture {
  readonly world: World;
  readonly postgres: FakePostgres;
  /** What the CLI needs to open the same store and config (and the sealing key). */
  readonly env: Record<string, string>;
  /** Where the CLI runs: the world's step directory (nothing there but steps). */
  readonly cwd: string;
  /** An empty store of the same kind and prefix, and the CLI's variables for it. */
  emptyTarget(): { store: StateStore; env: Record<string, string> };
  dispose(): Promise<void>;
}

export async function openStoreFixture(kind: StoreKind, redis: PrivateRedis | undefined): Promise<StoreFixture> {
  const prefix = `cli-${randomBytes(4).toString("hex")}:`;
  const dirs = [tempDir("ephemera-cli-data-")];
  const targets: StateStore[] = [];
  const storeVariables = (redisDb: number, dataDir: string): Record<string, string> =>
    kind === "redis" ? { REDIS_URL: `${redis?.url}/${redisDb}` } : { EPHEMERA_DATA_DIR: dataDir };
  const openOne = (redisDb: number, dataDir: string) =>
    kind === "redis" ? createRedisStore({ url: `${redis?.url}/${redisDb}`, prefix }) : openSqliteStore({ dataDir, prefix });

  const postgres = new FakePostgres();
  const world = await makeWorld({
    config: OPERATOR_CONFIG,
    store: openOne(0, dirs[0]!.path),
    extraProviders: [postgres],
    repoConfig: (key) => (TEMPLATE_OF[key.repoId] === undefined ? undefined : { template: TEMPLATE_OF[key.repoId] }),
  });
  await createEnvironments(world);
  // The world's engine is this release's, which registers its replicas: the CLI needs no takeover here.
  await markRegistry(world.store, { protocol: STORE_PROTOCOL, startedAt: new Date().toISOString() });

  const common = {
    EPHEMERA_KEY_PREFIX: prefix,
    EPHEMERA_CONFIG: writeOperatorConfig(world.ws.dir, OPERATOR_CONFIG),
    // The template uses postgres, so the CLI, like the server, needs the admin URL; the fake replaces it where it runs.
    EPHEMERA_POSTGRES_URL: "postgres://postgres@127.0.0.1:5432/postgres",
    WEBHOOK_SECRET: SECRET_KEY,
    // The steps here write beside the operator config; isolation has tests of its own.
    EPHEMERA_STEP_ISOLATION: "off",
  };
  return {
    world,
    postgres,
    env: { ...common, ...storeVariables(0, dirs[0]!.path) },
    cwd: world.ws.dir,
    emptyTarget() {
      const dir = tempDir("ephemera-cli-target-");
      dirs.push(dir);
      const db = dirs.length - 1;
      const store = openOne(db, dir.path);
      targets.push(store);
      return { store, env: { ...common, ...storeVariables(db, dir.path) } };
    },
    async dispose() {
      for (const target of targets) await target.close();
      await world.dispose();
      for (const dir of dirs) dir.dispose();
    },
  };
}

export function keyOf(repo: { id: number }, pr: number): EnvKey {
  return { repoId: repo.id, pr };
}

/** web #1 and #2, api #7 and short #5 ready; web #3 opened and closed before it was made (a tombstone). */
async function createEnvironments(world: World): Promise<void> {
  const open = (repo: { id: number; name: string }, pr: number) =>
    world.lifecycle.record(keyOf(repo, pr), openIntent(SHA, { repo: repo.name, installationId: 7, headRef: `feature-${pr}` }));
  for (const [repo, pr] of [[REPOS.web, 1], [REPOS.web, 2], [REPOS.web, 3], [REPOS.api, 7], [REPOS.short, 5]] as const) await open(repo, pr);
  await world.lifecycle.record(keyOf(REPOS.web, 3), closeIntent());
  await world.reconciler.runDue();
  for (const [repo, pr] of [[REPOS.web, 1], [REPOS.web, 2], [REPOS.api, 7], [REPOS.short, 5]] as const) {
    await world.until(keyOf(repo, pr), `${repo.name}#${pr} ready`, (fields) => fields.status === "ready");
  }
}

/** Every key of every environment in `store`, as `exportKeys` gives them. */
export async function allKeys(store: StateStore): Promise<ExportedKey[]> {
  const keys = await store.listKeys();
  return (await Promise.all(keys.map((key) => store.exportKeys(key)))).flat();
}
