import type { Policy } from "../config/policy.js";
import type { Lifecycle } from "../lifecycle/api.js";
import type { SettingsSource } from "../lifecycle/settings.js";
import type { CommandLifecycle } from "./commands/run-command.js";

/** What slash-commands see of the lifecycle: the Lifecycle API, and the fork policy from the settings in force. */
export function commandLifecycle(lifecycle: Lifecycle, settings: SettingsSource, operatorPolicy: Policy): CommandLifecycle {
  return {
    record: (key, intent, deliveryId) => lifecycle.record(key, intent, deliveryId),
    async desired(key) {
      const state = await lifecycle.get(key);
      return state && { desired: state.desired, maxTtlMs: state.fields.config?.maxTtlMs, expiresAt: state.fields.expires_at };
    },
    async forkPolicy(key, desired) {
      const resolved = desired ? await settings.resolve({ key, desired }) : undefined;
      return resolved?.ok ? resolved.settings.policy.forks : operatorPolicy.forks;
    },
  };
}
