import { join } from "node:path";
import { Lifecycle } from "../../src/lifecycle/api.js";
import type { EngineOptions } from "../../src/lifecycle/engine.js";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { CommandDesk } from "../../src/lifecycle/command-desk.js";
import { Reconciler } from "../../src/lifecycle/reconciler.js";
import { staticSettingsSource } from "../../src/lifecycle/settings.js";
import type { Provider } from "../../src/lifecycle/provider.js";
import { RunProvider } from "../../src/providers/run-provider.js";
import { createSealer } from "../../src/lifecycle/sealing.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { EnvFields, StateStore } from "../../src/lifecycle/state-store.js";
import { FAST, operatorConfig, RecordingNotifier, stepWorkspace, testLog, type StepWorkspace } from "./harness.js";
import { waitFor } from "../helpers/wait-for.js";
import type { ReadinessProbe } from "../../src/lifecycle/readiness-probe.js";

/**
 * One reconciler against a real store (a SQLite file unless `store` is
 * given), with run steps from a step workspace and a recording notifier.
 */
export interface World {
  ws: StepWorkspace;
  store: StateStore;
  notifier: RecordingNotifier;
  reconciler: Reconciler;
  lifecycle: Lifecycle;
  /** Reconcile passes so far (an environment taken under its lease and converged until it rests). */
  passes(): number;
  /** Waits until the environment's stored fields satisfy `predicate`. */
  until(key: EnvKey, what: string, predicate: (fields: Partial<EnvFields>) => boolean, timeoutMs?: number): Promise<Partial<EnvFields>>;
  dispose(): Promise<void>;
}

export const SECRET_KEY = "lifecycle test sealing key";

export async function makeWorld(params: {
  config: object;
  options?: Partial<EngineOptions>;
  readinessProbe?: ReadinessProbe;
  extraProviders?: Provider[];
  store?: StateStore;
  repoConfig?: (key: EnvKey) => unknown;
  /** The sealing keys, newest first; default `SECRET_KEY` alone. */
  secretKeys?: readonly string[];
  commands?: CommandDesk;
  /** The reconciler's and the lifecycle API's clock (ms since the epoch); default the wall clock. */
  now?: () => number;
}): Promise<World> {
  const ws = stepWorkspace();
  const store = params.store ?? openSqliteStore({ file: join(ws.dir, "state.sqlite"), prefix: "ephemera:" });
  const notifier = new RecordingNotifier();
  let passes = 0;
  const reconciler = new Reconciler(
    {
      store,
      settings: staticSettingsSource(operatorConfig(params.config), params.repoConfig),
      providers: [new RunProvider({ cwd: ws.dir, killGraceMs: 200 }), ...(params.extraProviders ?? [])],
      sealer: createSealer(params.secretKeys ?? SECRET_KEY),
      notifier,
      log: testLog(),
      ...(params.readinessProbe && { readinessProbe: params.readinessProbe }),
      ...(params.commands && { commands: params.commands }),
      onPass: () => (passes += 1),
      ...(params.now && { now: params.now }),
    },
    { ...FAST, ...params.options },
  );
  // As the server wires it: a recorded intent pokes the reconciler.
  const lifecycle = new Lifecycle({ store, onRecorded: (key) => reconciler.poke(key), ...(params.now && { now: params.now }) });
  return {
    ws,
    store,
    notifier,
    reconciler,
    lifecycle,
    passes: () => passes,
    until: (key, what, predicate, timeoutMs) =>
      waitFor(
        async () => {
          const fields = (await store.load(key))?.fields;
          return fields !== undefined && predicate(fields) && fields;
        },
        what,
        timeoutMs,
      ),
    async dispose() {
      await reconciler.stop();
      await store.close();
      ws.dispose();
    },
  };
}
