import { mkdirSync, writeFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { join } from "node:path";
import { makeKeys, type Keys } from "../../src/store/keys.js";
import { createRedisStore, type RedisStore } from "../../src/store/redis/redis-store.js";
import { deployOnEveryPushConfig } from "../../test/helpers/operator-config.js";
import { startPrivateRedis } from "../../test/helpers/redis-server.js";
import { startProcess, type BenchProcess } from "../lib/app.js";
import type { BenchContext } from "../lib/context.js";
import { ADMIN_URL, openBenchPostgres, type BenchPostgres } from "../lib/postgres.js";
import { githubQuiet, type GitHub } from "../lib/services.js";

/**
 * The Ephemera process scenarios 4 and 5 share: the real server on a
 * private Redis, against the fake GitHub, with an operator config of two
 * templates. `default` has one `run` step that outputs the environment's URL
 * and re-runs on every push (scenario 5, as the end-to-end test has it);
 * `pg` has one `postgres` step cloning the bench's template database
 * (scenario 4; a repository picks it in its `.github/ephemera.yml`).
 */
export interface LifecycleApp {
  readonly process: BenchProcess;
  /** The same store as the app's, to watch environments from outside. */
  readonly store: RedisStore;
  /** A plain client of the app's Redis, for cheap polls and MEMORY USAGE. */
  readonly redis: Redis;
  readonly keys: Keys;
  /** Present when scenario 4 runs. */
  readonly postgres: BenchPostgres | undefined;
}

const PREFIX = "lifecycle:";

function operatorConfig(templateDb: string | undefined): string {
  const pg = templateDb
    ? `
  pg:
    ttl: 4h
    maxTtl: 2d
    steps:
      - name: database
        uses: postgres
        with: { template: ${templateDb} }`
    : "";
  return deployOnEveryPushConfig(pg);
}

export async function startLifecycleApp(ctx: BenchContext, github: GitHub, { postgres: withPostgres }: { postgres: boolean }): Promise<LifecycleApp> {
  let postgres: BenchPostgres | undefined;
  if (withPostgres) {
    postgres = await openBenchPostgres(ctx);
    const opened = postgres;
    ctx.defer(() => opened.dispose());
  }
  const redis = await startPrivateRedis();
  ctx.defer(() => redis.stop());
  const dir = join(ctx.workDir, "lifecycle");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ephemera.config.yml"), operatorConfig(postgres?.templateDb));
  const process = await startProcess({
    name: "ephemera-lifecycle",
    dir,
    env: {
      ...github.appEnv,
      REDIS_URL: redis.url,
      EPHEMERA_KEY_PREFIX: PREFIX,
      EPHEMERA_CONFIG: join(dir, "ephemera.config.yml"),
      EPHEMERA_RESYNC_INTERVAL: "24h",
      EPHEMERA_REDELIVERY_INTERVAL: "24h",
      EPHEMERA_AUDIT_INTERVAL: "24h",
      // The run's own prefix: the start-up orphan audit then sees only this run's names.
      ...(postgres ? { EPHEMERA_POSTGRES_URL: ADMIN_URL, EPHEMERA_POSTGRES_PREFIX: postgres.providerPrefix } : {}),
    },
  });
  ctx.defer(() => process.stop());
  const store = createRedisStore({ url: redis.url, prefix: PREFIX });
  ctx.defer(() => store.close());
  // The start-up jobs (App identity, resync, redelivery) call GitHub once: let them finish first.
  await githubQuiet(github.fake, 1000, 20_000);
  return { process, store, redis: redis.client(), keys: makeKeys(PREFIX), postgres };
}
