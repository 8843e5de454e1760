import { z } from "zod";
import { show, validate } from "./config-error.js";
import { formatDuration } from "./duration.js";
import { durationField, strictObject } from "./fields.js";
import { templateNamed, type OperatorConfig } from "./operator-config.js";
import { applyRepoPolicy, repoPolicySchema, type Policy } from "./policy.js";
import type { Template } from "./template-schema.js";

/**
 * A repository's `.github/ephemera.yml` (DESIGN §7), read from its default
 * branch. Untrusted: it may only pick one of the operator's templates and
 * settings within the operator's bounds. Anything else (an unknown key, a
 * ttl above the template's maxTtl, a looser policy) is an error naming the
 * field, shown on the PR, and nothing is provisioned: a setting silently
 * ignored or capped would leave people believing it took effect.
 */

const repoConfigSchema = strictObject({
  /** One of the operator's templates; `default` when absent. */
  template: z.string().optional(),
  /** Lifetime after creation and after each push; at most the template's maxTtl. Default: the template's ttl. */
  ttl: durationField.optional(),
  /** Stricter than the operator's policy, field by field. */
  policy: repoPolicySchema.optional(),
});

export interface RepoSettings {
  templateName: string;
  /** The operator's template, as configured. */
  template: Template;
  ttlMs: number;
  policy: Policy;
}

export type RepoSettingsResult = { ok: true; settings: RepoSettings } | { ok: false; errors: string[] };

const DEFAULT_TEMPLATE = "default";

/**
 * The settings for a repository, from the operator's config and the
 * repository's parsed file (`null` or `undefined` when it has none).
 */
export function resolveRepoSettings(operator: OperatorConfig, rawRepoConfig: unknown): RepoSettingsResult {
  const parsed = validate(repoConfigSchema, rawRepoConfig ?? {});
  if (!parsed.ok) return { ok: false, errors: parsed.errors };
  const repo = parsed.value;

  const templateName = repo.template ?? DEFAULT_TEMPLATE;
  const template = templateNamed(operator, templateName);
  if (template === undefined) return { ok: false, errors: [unknownTemplate(repo.template, operator)] };

  const errors: string[] = [];
  if (repo.ttl !== undefined && repo.ttl > template.maxTtlMs) {
    errors.push(
      `ttl: ${formatDuration(repo.ttl)} is longer than the template's maxTtl (${formatDuration(template.maxTtlMs)})`,
    );
  }
  const { policy, errors: policyErrors } = applyRepoPolicy(operator.policy, repo.policy ?? {});
  errors.push(...policyErrors);
  if (errors.length > 0) return { ok: false, errors };

  return { ok: true, settings: { templateName, template, ttlMs: repo.ttl ?? template.ttlMs, policy } };
}

function unknownTemplate(asked: string | undefined, operator: OperatorConfig): string {
  const names = Object.keys(operator.templates).join(", ");
  return asked === undefined
    ? `template: required, because the operator has no "${DEFAULT_TEMPLATE}" template (choose one of: ${names})`
    : `template: ${show(asked)} is not one of: ${names}`;
}
