import { resolveEnvReferences, UnsetReferenceError } from "../config/env-references.js";
import { StepFailedError, type StepSpec } from "../lifecycle/provider.js";

/** A variable whose name says its value is secret (DESIGN §7): `API_TOKEN`, `db_password`, `SigningKey`. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|KEY|CREDENTIAL/i;

export interface OperatorEnv {
  /** The step's `env:` with every `${VAR}` read from the server's environment. */
  readonly variables: Record<string, string>;
  /** Values to mask in whatever the step reports: each referenced value, and whole values of secret-named variables. */
  readonly masked: string[];
}

/**
 * A `run` step's `env:` as the step sees it, resolved when the step runs
 * (never at config load, so no value sits in the config or the store). A
 * reference the server cannot resolve is a terminal failure: retrying reads
 * the same environment.
 */
export function resolveOperatorEnv(step: StepSpec, serverEnv: Readonly<Record<string, string | undefined>>): OperatorEnv {
  const variables: Record<string, string> = {};
  const masked: string[] = [];
  for (const [name, text] of Object.entries(step.env ?? {})) {
    try {
      const { value, referenced } = resolveEnvReferences(text, serverEnv);
      variables[name] = value;
      masked.push(...referenced);
      if (SECRET_NAME.test(name)) masked.push(value);
    } catch (error) {
      if (!(error instanceof UnsetReferenceError)) throw error;
      throw new StepFailedError({ step: step.name, reason: `env.${name}: ${error.message}`, terminal: true });
    }
  }
  return { variables, masked };
}
