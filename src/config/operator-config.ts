import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError, validate } from "./config-error.js";
import { unsetReferenceProblems } from "./env-references.js";
import { nameField, strictObject } from "./fields.js";
import { operatorPolicySchema } from "./policy.js";
import { templateSchema } from "./template-schema.js";

/**
 * The operator's `ephemera.config.yml` (DESIGN §7): trusted, read once at
 * start-up. Every field has a default, so an empty file, or no file, gives
 * the built-in `default` template with no steps (TTL 24h, maxTtl 7d).
 *
 * A `default` template is not required: a repository that names no template
 * gets `default`, and when the operator defines none, every repository must
 * choose one in `.github/ephemera.yml` (an operator who wants opt-in only
 * leaves `default` out). Such a repository gets a comment saying so.
 */

const positiveInt = z.number().int().positive();

const operatorConfigSchema = strictObject({
  /** What an environment is, by name. A repository picks one; one that does not gets `default`. */
  templates: z
    .record(nameField, templateSchema)
    .prefault({ default: {} })
    .refine((templates) => Object.keys(templates).length > 0, { error: "must define at least one template" }),
  /** Above either limit, new environments wait as `queued` until capacity frees. */
  limits: strictObject({
    /** Live environments per repository. */
    maxActivePerRepo: positiveInt.default(10),
    /** Live environments across all repositories. */
    maxActive: positiveInt.default(200),
  }).prefault({}),
  /** When a PR gets an environment; repositories may only make it stricter. */
  policy: operatorPolicySchema.prefault({}),
});
export type OperatorConfig = z.output<typeof operatorConfigSchema>;

/**
 * Parse the text of an operator config; `sourceName` names it in errors.
 * With `variables` (the server's environment), every `${VAR}` a step's `env:`
 * refers to must be set there. Throws `ConfigError`.
 */
export function parseOperatorConfig(text: string, sourceName: string, variables?: Readonly<Record<string, string | undefined>>): OperatorConfig {
  // Merge keys (`<<: *base`) let templates share settings.
  const document = parseDocument(text, { merge: true });
  if (document.errors.length > 0) {
    // yaml's messages end in a code frame; the first line has the problem and its position.
    throw new ConfigError(sourceName, document.errors.map((error) => firstLine(error.message)));
  }
  // An empty file (or only comments) is null: all defaults.
  const result = validate(operatorConfigSchema, document.toJS() ?? {});
  if (!result.ok) throw new ConfigError(sourceName, result.errors);
  const unset = variables === undefined ? [] : unsetReferenceProblems(result.value.templates, variables);
  if (unset.length > 0) throw new ConfigError(sourceName, unset);
  return result.value;
}

/** The configuration in force when the operator has no config file. */
/** The operator's template called `name`, if there is one (an own key: `toString` is not a template). */
export function templateNamed(operator: OperatorConfig, name: string): OperatorConfig["templates"][string] | undefined {
  return Object.hasOwn(operator.templates, name) ? operator.templates[name] : undefined;
}

export function builtInOperatorConfig(): OperatorConfig {
  return parseOperatorConfig("", "built-in configuration");
}

/**
 * Read and parse the operator config at `path`. A missing file is an error
 * when `required` (the operator named it); otherwise it means the built-in
 * configuration. `${VAR}` references are checked against `variables`
 * (default: this process's environment, which the steps' values come from).
 */
export async function loadOperatorConfig(
  path: string,
  { required, variables = process.env }: { required: boolean; variables?: Readonly<Record<string, string | undefined>> },
): Promise<OperatorConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isNotFound(error) && !required) return builtInOperatorConfig();
    throw new ConfigError(path, [isNotFound(error) ? "file not found" : `cannot be read (${errorCode(error)})`]);
  }
  return parseOperatorConfig(text, path, variables);
}

function firstLine(message: string): string {
  return (message.split("\n", 1)[0] ?? "").replace(/:$/, "");
}

function isNotFound(error: unknown): boolean {
  return errorCode(error) === "ENOENT";
}

function errorCode(error: unknown): string {
  return error instanceof Error && "code" in error ? String(error.code) : String(error);
}
