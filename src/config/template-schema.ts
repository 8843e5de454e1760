import { z } from "zod";
import { show } from "./config-error.js";
import { durationField, nameField, strictObject } from "./fields.js";
import { formatDuration } from "./duration.js";

/**
 * A template: what an environment is (DESIGN §7). Durations are written as
 * strings and come out in milliseconds (`ttl` → `ttlMs`).
 */

/** The built-in providers a step can name with `uses`. */
export const PROVIDER_NAMES = ["postgres"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** A hung command must not hold an environment (and a worker) forever. */
const DEFAULT_STEP_TIMEOUT = "10m";

/** YAML reads `PORT: 5432` as a number; like GitHub Actions inputs, scalars become strings. */
const scalarText = z
  .union([z.string(), z.number(), z.boolean()], { error: (issue) => `must be text, not ${show(issue.input)}` })
  .transform(String);

/** A variable name a step may set; `EPHEMERA_*` is Ephemera's own and would be shadowed. */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: (issue) => `${show(issue.input)} is not a variable name` })
  .refine((name) => !name.toUpperCase().startsWith("EPHEMERA_"), {
    error: (issue) => `${show(issue.input)} is reserved: EPHEMERA_* variables are set by Ephemera`,
  });

interface StepBase {
  name: string;
  timeoutMs: number;
  onUpdate: boolean;
}
/** A step that runs an operator's command. `uses` is declared absent so `step.uses` narrows the union. */
export interface RunStep extends StepBase {
  run: string;
  env: Record<string, string>;
  uses?: undefined;
}
/** A step that a built-in provider carries out. */
export interface UsesStep extends StepBase {
  uses: ProviderName;
  with: Record<string, string>;
  run?: undefined;
}
export type Step = RunStep | UsesStep;

const stepSchema = strictObject({
  /** Unique within the template; names the step's checkpoint and its outputs for later steps. */
  name: nameField,
  /** A built-in provider that carries out this step (instead of `run`). */
  uses: z
    .enum(PROVIDER_NAMES, {
      error: (issue) => `${show(issue.input)} is not a known provider (known: ${PROVIDER_NAMES.join(", ")})`,
    })
    .optional(),
  /** Settings for the provider named by `uses`. */
  with: z.record(z.string(), scalarText).optional(),
  /** A command for /bin/sh, run in the directory of the operator config (instead of `uses`). */
  run: z.string().min(1).optional(),
  /** How long the step may take before it counts as failed. */
  timeout: durationField.prefault(DEFAULT_STEP_TIMEOUT),
  /** Re-run on every push, for the new head sha, not only when the environment is created. */
  onUpdate: z.boolean().default(false),
  /** Extra variables for the `run` command. */
  env: z.record(envName, scalarText).optional(),
}).transform((step, ctx): Step => {
  const { name, timeout, onUpdate, run, uses, env, with: settings } = step;
  const base = { name, timeoutMs: timeout, onUpdate };
  if (run !== undefined && uses === undefined && settings === undefined) return { ...base, run, env: env ?? {} };
  if (uses !== undefined && run === undefined && env === undefined) return { ...base, uses, with: settings ?? {} };
  ctx.issues.push({ code: "custom", input: step, ...stepKindProblem(step) });
  return z.NEVER;
});

/** Why a step is neither a proper `run` step nor a proper `uses` step. */
function stepKindProblem(step: { run?: string; uses?: string }): { message: string; path: string[] } {
  if (step.run !== undefined && step.uses !== undefined) {
    return { message: "has both run and uses: a step does one or the other", path: [] };
  }
  if (step.run === undefined && step.uses === undefined) {
    return { message: "needs run (a command) or uses (a provider)", path: [] };
  }
  return step.run !== undefined
    ? { message: "only a step with uses takes with", path: ["with"] }
    : { message: "only a step with run takes env", path: ["env"] };
}

const teardownStepSchema = strictObject({
  /** Unique among the teardown steps; named in logs and errors. */
  name: nameField,
  /** A command for /bin/sh, run in the directory of the operator config. */
  run: z.string().min(1),
  /** How long the step may take before it counts as failed (and is retried). */
  timeout: durationField.prefault(DEFAULT_STEP_TIMEOUT),
}).transform(({ timeout, ...step }) => ({ ...step, timeoutMs: timeout }));
export type TeardownStep = z.output<typeof teardownStepSchema>;

/** `{{url}}` is the only placeholder: it stands for the environment's URL. */
function isReadinessUrl(text: string): boolean {
  const filled = text.replaceAll("{{url}}", "https://preview.invalid");
  if (filled.includes("{{") || filled.includes("}}")) return false;
  try {
    return ["http:", "https:"].includes(new URL(filled).protocol);
  } catch {
    return false;
  }
}

const readinessSchema = strictObject({
  /** Polled until it answers 2xx; `{{url}}` stands for the environment's URL (`{{url}}/healthz`). */
  url: z
    .string()
    .refine(isReadinessUrl, {
      error: (issue) => `${show(issue.input)} is not an http(s) URL (example: {{url}}/healthz)`,
    })
    .optional(),
  /** A command that exits 0 once the environment is ready. */
  run: z.string().min(1).optional(),
  /** How long to keep trying before the environment is failed. */
  timeout: durationField.prefault("5m"),
  /** How long to wait between tries. */
  interval: durationField.prefault("5s"),
})
  .superRefine((readiness, ctx) => {
    if (readiness.url === undefined && readiness.run === undefined) {
      ctx.addIssue({ code: "custom", message: "needs url or run (or both)" });
    }
    if (readiness.interval > readiness.timeout) {
      ctx.addIssue({ code: "custom", message: "is longer than timeout", path: ["interval"] });
    }
  })
  .transform(({ timeout, interval, ...readiness }) => ({ ...readiness, timeoutMs: timeout, intervalMs: interval }));
export type Readiness = z.output<typeof readinessSchema>;

export const templateSchema = strictObject({
  /** How long an environment lives after it is created, and again after each push. */
  ttl: durationField.prefault("24h"),
  /** The furthest `/preview extend` can push the expiry, counted from now; also the largest `ttl` a repository may ask for. */
  maxTtl: durationField.prefault("7d"),
  /** How long before expiry the PR gets a reply saying so and how to extend. */
  warnBefore: durationField.prefault("1h"),
  /** Setup, in order; each step is checkpointed when it completes. */
  steps: z.array(stepSchema).default([]),
  /** Commands run in order on teardown. */
  teardown: z.array(teardownStepSchema).default([]),
  /** When the environment counts as `ready` (and its URL is shown); without it, when the steps are done. */
  readiness: readinessSchema.optional(),
})
  .superRefine((template, ctx) => {
    if (template.ttl > template.maxTtl) {
      ctx.addIssue({ code: "custom", message: `${formatDuration(template.ttl)} is longer than maxTtl (${formatDuration(template.maxTtl)})`, path: ["ttl"] });
    }
    if (template.warnBefore >= template.ttl) {
      ctx.addIssue({ code: "custom", message: `must be shorter than ttl (${formatDuration(template.ttl)})`, path: ["warnBefore"] });
    }
    reportClashingNames(template.steps, "steps", ctx);
    reportClashingNames(template.teardown, "teardown", ctx);
  })
  .transform(({ ttl, maxTtl, warnBefore, ...template }) => ({ ...template, ttlMs: ttl, maxTtlMs: maxTtl, warnBeforeMs: warnBefore }));
export type Template = z.output<typeof templateSchema>;

/**
 * Names must differ even once upper-cased with `-` as `_`: that is how a
 * step's outputs reach later steps (`EPHEMERA_OUT_<STEP>_<NAME>`), so
 * `db-main` and `DB_main` would overwrite each other.
 */
function reportClashingNames(steps: ReadonlyArray<{ name: string }>, list: string, ctx: z.RefinementCtx): void {
  const seen = new Map<string, string>();
  steps.forEach(({ name }, index) => {
    const key = name.toUpperCase().replaceAll("-", "_");
    const earlier = seen.get(key);
    if (earlier === undefined) seen.set(key, name);
    else ctx.addIssue({ code: "custom", message: `"${name}" is already the name of an earlier step ("${earlier}")`, path: [list, index, "name"] });
  });
}
