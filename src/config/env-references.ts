import type { Template } from "./template-schema.js";

/**
 * `${NAME}` in a `run` step's `env:` value stands for the variable NAME of
 * the server's environment. Operator secrets live there, not in the config
 * file: the reference is checked when the config is loaded and read only
 * when the step runs, so the value never sits in the parsed config, a
 * recorded template or a log line.
 */

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The variable names `value` refers to, in order. */
function envReferences(value: string): string[] {
  return [...value.matchAll(REFERENCE)].map((match) => match[1] ?? "");
}

export class UnsetReferenceError extends Error {
  constructor(readonly variable: string) {
    super(`\${${variable}} is not set in the server's environment`);
    this.name = "UnsetReferenceError";
  }
}

/** `value` with every reference replaced, and the values that replaced them; throws `UnsetReferenceError`. */
export function resolveEnvReferences(value: string, variables: Readonly<Record<string, string | undefined>>): { value: string; referenced: string[] } {
  const referenced: string[] = [];
  const resolved = value.replace(REFERENCE, (_, name: string) => {
    const found = variables[name];
    if (found === undefined) throw new UnsetReferenceError(name);
    referenced.push(found);
    return found;
  });
  return { value: resolved, referenced };
}

/** One problem line (`templates.web.steps[0].env.TOKEN: ${X} is not set …`) per reference the server cannot resolve. */
export function unsetReferenceProblems(templates: Readonly<Record<string, Pick<Template, "steps">>>, variables: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  for (const [template, { steps }] of Object.entries(templates)) {
    steps.forEach((step, index) => {
      for (const [name, value] of Object.entries(step.run === undefined ? {} : step.env)) {
        for (const variable of envReferences(value)) {
          if (variables[variable] === undefined) problems.push(`templates.${template}.steps[${index}].env.${name}: ${new UnsetReferenceError(variable).message}`);
        }
      }
    });
  }
  return problems;
}
