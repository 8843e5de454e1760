import { setTimeout as sleep } from "node:timers/promises";
import { installationClients } from "../github/installation-clients.js";
import { appBotIdentity, gitHubWiring } from "../github/wiring.js";
import type { CommandDesk } from "../lifecycle/command-desk.js";
import { Lifecycle } from "../lifecycle/api.js";
import type { EnvKey, EventLogEntry, Status } from "../lifecycle/environment.js";
import { silentNotifier, type Notifier } from "../lifecycle/notifier.js";
import { Reconciler } from "../lifecycle/reconciler.js";
import type { SettingsSource } from "../lifecycle/settings.js";
import { toIso } from "../lifecycle/ttl.js";
import type { Sealer } from "../lifecycle/sealing.js";
import type { Runtime } from "../runtime.js";
import type { EnvSnapshot } from "../lifecycle/state-store.js";
import type { CliContext } from "./context.js";
import { storedSettingsSource } from "./stored-settings.js";

/** An environment the reconciler changed in this run, and what it logged. */
export interface Touched {
  key: EnvKey;
  repo: string;
  status: Status | undefined;
  events: EventLogEntry[];
}

/** Where settings come from and where changes are shown; `drain` waits for the PR updates in flight. */
interface GitHubSide {
  settings: SettingsSource;
  notifier: Notifier;
  /** Without credentials, recorded slash-commands wait for the server. */
  commands?: CommandDesk;
  drain?: () => Promise<void>;
}

/** How long `extend` and `teardown` wait for another worker that holds the environment, by default. */
export const DEFAULT_WAIT_MS = 60_000;
const POLL_MS = 500;

/**
 * The reconciler, in this process, for the commands that change
 * environments (`extend`, `teardown`, `gc`): the runtime's providers and
 * the server's sealing key. With the App's credentials it is wired to
 * GitHub exactly as the server is (repository settings, and the notifier
 * that updates the PR's comment and deployment). Without them, settings come
 * from the environment's record (see `storedSettingsSource`) and the PR is
 * not touched; each environment changed gets a `refresh` intent instead, so
 * the server shows the change on the PR when it next runs.
 */
export class CliReconciler {
  readonly touched = new Map<string, Touched>();
  readonly lifecycle: Lifecycle;
  private readonly reconciler: Reconciler;

  private constructor(
    private readonly cli: CliContext,
    private readonly wiring: GitHubSide,
    runtime: Runtime,
    sealer: Sealer,
  ) {
    const { store, providers } = runtime;
    const notifier: Notifier = {
      environmentChanged: async (notice) => {
        const id = `${notice.key.repoId}/${notice.key.pr}`;
        const seen = this.touched.get(id);
        this.touched.set(id, {
          key: notice.key,
          repo: notice.fields.config?.repo ?? notice.fields.desired?.repo ?? "",
          status: notice.fields.status,
          events: [...(seen?.events ?? []), ...notice.events],
        });
        await wiring.notifier.environmentChanged(notice);
      },
    };
    this.reconciler = new Reconciler({
      store,
      settings: wiring.settings,
      providers,
      sealer,
      notifier,
      ...(wiring.commands && { commands: wiring.commands }),
      log: cli.log.child({ name: "reconciler" }),
      now: cli.now,
    });
    this.lifecycle = new Lifecycle({ store, now: cli.now });
    // Ctrl-C: running steps are stopped (their process groups killed), and the next worker resumes.
    cli.signal.addEventListener("abort", () => void this.reconciler.stop(), { once: true });
  }

  /** `command` names what needs the sealing key, in the error when it is missing. */
  static async open(cli: CliContext, command: string): Promise<CliReconciler> {
    const sealer = cli.sealer(command);
    const runtime = await cli.runtime();
    const github = await cli.github();
    if (github === undefined) {
      cli.out.note("GitHub credentials are not set (APP_ID, PRIVATE_KEY): the PR's comment and deployment are updated when the server next runs.");
      return new CliReconciler(cli, { settings: storedSettingsSource(runtime.operator, runtime.store), notifier: silentNotifier }, runtime, sealer);
    }
    const bot = await appBotIdentity(github, cli.log);
    const { settings, notifier, commands } = gitHubWiring({ operator: runtime.operator, store: runtime.store, clients: installationClients(() => github), bot, log: cli.log });
    return new CliReconciler(cli, { settings, notifier, commands, drain: () => notifier.drain() }, runtime, sealer);
  }

  /**
   * Reconciles `key` here until `done` holds. When another worker holds the
   * environment (the server, reconciling it right now), this one waits for
   * it, looking again every half second, for up to `waitMs`.
   */
  async until(key: EnvKey, done: (snapshot: EnvSnapshot | null) => boolean, waitMs: number): Promise<{ snapshot: EnvSnapshot | null; done: boolean }> {
    const { store } = await this.cli.runtime();
    const deadline = Date.now() + waitMs;
    for (;;) {
      await this.reconciler.reconcile(key);
      const snapshot = await store.load(key);
      if (done(snapshot)) return { snapshot, done: true };
      if (Date.now() >= deadline || this.cli.signal.aborted) return { snapshot, done: false };
      await sleep(POLL_MS);
    }
  }

  /** Reaps what is due now (`gc`): expired environments among them; returns how many were looked at. */
  reapDue(): Promise<number> {
    return this.reconciler.runDue();
  }

  /** Lets the PRs show what changed: waits for the GitHub updates, or leaves a `refresh` for the server. */
  async finish(): Promise<void> {
    if (this.wiring.drain) return this.wiring.drain();
    for (const { key } of this.touched.values()) await this.lifecycle.record(key, { type: "refresh", at: toIso(Date.now()) });
  }
}
