import type { Logger } from "pino";
import type { Probot } from "probot";
import type { OperatorConfig } from "../config/operator-config.js";
import type { BotIdentity } from "./github-api.js";
import { GitHubNotifier } from "./github-notifier.js";
import type { InstallationClients } from "./installation-clients.js";
import { repoSettingsSource } from "./repo-settings-source.js";
import type { Lifecycle } from "../lifecycle/api.js";
import type { SettingsSource } from "../lifecycle/settings.js";
import type { StateStore } from "../store/state-store.js";

/**
 * The reconciler's two ports onto GitHub, wired the same way by the server
 * and by the CLI when it has the App's credentials: settings bounded by each
 * repository's `.github/ephemera.yml`, and the notifier that keeps the PR's
 * comment and deployment in line with the store.
 */
export interface GitHubWiringParams {
  operator: OperatorConfig;
  store: StateStore;
  lifecycle: Pick<Lifecycle, "record">;
  clients: InstallationClients;
  /** Filled in once known (see `appBotIdentity`); read at each update. */
  bot: BotIdentity;
  log: Logger;
}

export function gitHubWiring(params: GitHubWiringParams): { settings: SettingsSource; notifier: GitHubNotifier } {
  const { operator, store, lifecycle, clients, bot, log } = params;
  const settings = repoSettingsSource({ operator, clients });
  const notifier = new GitHubNotifier({
    store,
    recordShown: async (key, shown) => {
      await lifecycle.record(key, { type: "shown", at: new Date().toISOString(), ...shown });
    },
    template: (name) => settings.template(name),
    // Addressed by name, so a reused name could reach another repository: the notifier is to ask for
    // `clients.forRepository({ installationId, repoId })` instead (issue 11.4), once it passes the repository id.
    octokitFor: (installationId) => clients.forInstallation(installationId),
    bot,
    log: log.child({ name: "github" }),
  });
  return { settings, notifier };
}

/**
 * Our bot account (`<slug>[bot]`), so the sticky comment is only ever
 * looked for among our own comments. Unknown when GitHub cannot be reached:
 * then any bot's comment with our marker is trusted, never a person's.
 */
export async function appBotIdentity(probot: Probot, log: Logger): Promise<BotIdentity> {
  try {
    const { data } = await (await probot.auth()).request("GET /app");
    return data?.slug ? { botLogin: `${data.slug}[bot]` } : {};
  } catch (error) {
    log.warn({ err: error }, "could not read the App's own details from GitHub; the sticky comment is matched by any bot");
    return {};
  }
}
