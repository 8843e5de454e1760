import { Probot, Server, type ApplicationFunction } from "probot";
import type { Logger } from "pino";
import type { AppEnv } from "./config/env.js";
import { loadPrivateKey } from "./config/private-key.js";
import { healthHandler } from "./http/health.js";
import { openStore } from "./store/open-store.js";
import type { StateStore } from "./store/state-store.js";

export interface RunningEphemera {
  readonly server: Server;
  readonly store: StateStore;
  /** Stops taking webhooks, lets running work finish its step, closes the store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  env: AppEnv;
  log: Logger;
  /** The Probot app (event handlers); given the store so handlers can record intents. */
  app: (store: StateStore) => ApplicationFunction;
}

/**
 * The composition root: builds the store, the Probot server with our HTTP
 * routes, and starts them. `main.ts` calls it with the real environment;
 * end-to-end tests call it with theirs.
 */
export async function startEphemera({ env, log, app }: StartOptions): Promise<RunningEphemera> {
  const privateKey = loadPrivateKey(env.privateKey);
  const store = openStore(env, log);
  const server = new Server({
    host: env.host,
    port: env.port,
    log,
    Probot: Probot.defaults({
      appId: env.appId,
      privateKey,
      secret: env.webhookSecret,
      baseUrl: env.githubBaseUrl,
      // Probot shares its GitHub request throttling across replicas through the same Redis.
      redisConfig: env.redisUrl,
      log,
    }),
  });
  server.addHandler(healthHandler(store));
  await server.load(app(store));
  await server.start();
  return {
    server,
    store,
    async stop() {
      await server.stop();
      await store.close();
    },
  };
}
