import { z } from "zod";

/**
 * Configuration problems in plain words, one line each, naming the field:
 * `templates.default.steps[1].timeout: "10x" is not a duration (…)`.
 * Operators read them on stderr at start-up; repository members read the
 * repository-config ones in a PR comment, so no zod jargon and no stack.
 */

export class ConfigError extends Error {
  constructor(
    /** The file (or other source) the problems are in. */
    readonly source: string,
    /** One line each, without the source. */
    readonly problems: readonly string[],
  ) {
    super(problems.map((problem) => `${source}: ${problem}`).join("\n"));
    this.name = "ConfigError";
  }
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Parse `data` with `schema`; on failure, one `path: problem` line per issue. */
export function validate<S extends z.ZodType>(schema: S, data: unknown): Validated<z.output<S>> {
  const result = schema.safeParse(data, { error: plainMessage, reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, errors: result.error.issues.flatMap(describeIssue) };
}

/** A value as a message quotes it: strings in quotes and shortened, structures by their kind. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return String(value);
}

/** Schema-specific messages (given where the schema is defined) take precedence over these. */
function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${show(issue.input)}`;
    case "invalid_value":
      return `${show(issue.input)} is not one of: ${issue.values.map(String).join(", ")}`;
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      if (issue.origin === "array") return `must have at least ${issue.minimum} ${issue.minimum === 1 ? "entry" : "entries"}`;
      return `must be ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}`;
    default:
      return undefined;
  }
}

const EXPECTED: Partial<Record<string, string>> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

function describeIssue(issue: z.core.$ZodIssue): string[] {
  // A bad key of a record (a template name): the key's own problem, at the key's path.
  const messages = issue.code === "invalid_key" ? issue.issues.map((inner) => inner.message) : [issue.message];
  const path = formatPath(issue.path);
  return messages.map((message) => (path === "" ? message : `${path}: ${message}`));
}

/** `["templates", "default", "steps", 1, "timeout"]` → `templates.default.steps[1].timeout`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`;
      const name = String(key);
      if (!/^[A-Za-z_][\w-]*$/.test(name)) return `[${show(name)}]`;
      return i === 0 ? name : `.${name}`;
    })
    .join("");
}
