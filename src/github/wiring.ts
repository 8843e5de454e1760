import type { Logger } from "pino";
import type { Probot } from "probot";
import type { OperatorConfig } from "../config/operator-config.js";
import { storeReplyBudget } from "./commands/reply-budget.js";
import { gitHubCommandDesk } from "./commands/run-command.js";
import type { BotIdentity } from "./github-api.js";
import { GitHubNotifier } from "./github-notifier.js";
import { createWriteAccessCheck } from "./permissions.js";
import type { InstallationClients, RepositoryScope } from "./installation-clients.js";
import { repoSettingsSource } from "./repo-settings-source.js";
import type { CommandDesk } from "../lifecycle/command-desk.js";
import type { SettingsSource } from "../lifecycle/settings.js";
import type { StateStore } from "../lifecycle/state-store.js";

/**
 * The reconciler's ports onto GitHub, wired the same way by the server
 * and by the CLI when it has the App's credentials: settings bounded by each
 * repository's `.github/ephemera.yml`, the notifier that keeps the PR's
 * comment and deployment in line with the store, and the desk that carries
 * out recorded slash-commands.
 */
export interface GitHubWiringParams {
  operator: OperatorConfig;
  store: StateStore;
  clients: InstallationClients;
  /** Filled in once known (see `appBotIdentity`); read at each update. */
  bot: BotIdentity;
  log: Logger;
}

export function gitHubWiring(params: GitHubWiringParams): { settings: SettingsSource; notifier: GitHubNotifier; commands: CommandDesk } {
  const { operator, store, clients, bot, log } = params;
  const settings = repoSettingsSource({ operator, clients });
  // Everything done about an environment goes through a token for its repository id alone (see installation-clients.ts).
  const octokitFor = (scope: RepositoryScope) => clients.forRepository(scope);
  const commands = gitHubCommandDesk({
    octokitFor,
    hasWriteAccess: createWriteAccessCheck(),
    async forkPolicy({ key, desired }) {
      const resolved = desired ? await settings.resolve({ key, desired }) : undefined;
      return resolved?.ok ? resolved.settings.policy.forks : operator.policy.forks;
    },
    replyBudget: storeReplyBudget(store),
    log: log.child({ name: "commands" }),
  });
  const notifier = new GitHubNotifier({
    store,
    template: (name) => settings.template(name),
    octokitFor,
    bot,
    log: log.child({ name: "github" }),
  });
  return { settings, notifier, commands };
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
