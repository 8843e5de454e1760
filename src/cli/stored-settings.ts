import type { OperatorConfig } from "../config/operator-config.js";
import { admissionLimits, staticSettingsSource, type SettingsSource } from "../lifecycle/settings.js";
import type { StateStore } from "../lifecycle/state-store.js";

/**
 * Settings for the CLI without the App's credentials, which cannot read a
 * repository's `.github/ephemera.yml`. Resolving from the operator config
 * alone (`staticSettingsSource(operator)`) would be wrong for a repository
 * whose file picks another template or TTL: the reconciler would rewrite the
 * environment's config and run the other template's steps. So an environment
 * already created keeps what it was created with (its template as the
 * operator config now defines it, its TTL) under the operator's policy and
 * limits, and the cases that depend on the repository's file are left to the
 * server: one never created, and a fork's, whose gate may be the
 * repository's stricter fork policy. For those `resolve` throws, and the
 * reconciler looks again later, as after any error.
 */
export function storedSettingsSource(operator: OperatorConfig, store: StateStore): SettingsSource {
  const operatorOnly = staticSettingsSource(operator);
  return {
    template: operatorOnly.template,
    async resolve({ key, desired }) {
      const config = (await store.load(key))?.fields.config;
      const template = config && operatorOnly.template(config.template);
      if (config === undefined || template === undefined || desired.fork) {
        throw new Error("this environment's settings depend on the repository's .github/ephemera.yml, which needs GitHub (set APP_ID and PRIVATE_KEY); the server applies it");
      }
      return {
        ok: true,
        settings: { templateName: config.template, template, ttlMs: config.ttlMs, policy: operator.policy, limits: admissionLimits(operator) },
      };
    },
  };
}

/** Whether `storedSettingsSource` can settle this environment (see there). */
export function settlesWithoutGitHub(state: { fields: { config?: unknown }; desired?: { fork: boolean } | undefined }): boolean {
  return state.fields.config !== undefined && state.desired?.fork !== true;
}
