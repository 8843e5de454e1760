import { z } from "zod";
import { show } from "./config-error.js";
import { DURATION_EXAMPLES, InvalidDurationError, parseDuration } from "./duration.js";

/** Field schemas shared by the operator and the repository config. */

/** A duration string (`30m`, `4h`, `1h30m`) read as milliseconds. */
export const durationField = z
  .string({
    error: (issue) =>
      issue.input === undefined ? undefined : `${show(issue.input)} is not a duration (examples: ${DURATION_EXAMPLES})`,
  })
  .transform((text, ctx) => {
    try {
      return parseDuration(text);
    } catch (error) {
      if (!(error instanceof InvalidDurationError)) throw error;
      ctx.issues.push({ code: "custom", message: error.message, input: text });
      return z.NEVER;
    }
  });

const NAME = /^[a-z][a-z0-9_-]*$/i;

/** A template or step name: it appears in messages, checkpoints and variable names. */
export const nameField = z.string().regex(NAME, {
  error: (issue) => `${show(issue.input)} is not a valid name: use letters, digits, - and _, starting with a letter`,
});

/**
 * An object that rejects unknown keys and lists the allowed ones, so a typo
 * (`ttL`, `polcy`) is reported instead of silently ignored.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? unknownKeys(issue.keys, allowed) : undefined),
  });
}

/** An untrusted file may have thousands of unknown keys: name a few. */
const MAX_NAMED_KEYS = 5;

function unknownKeys(keys: readonly string[], allowed: string): string {
  const named = keys.slice(0, MAX_NAMED_KEYS).map(show).join(", ");
  const more = keys.length > MAX_NAMED_KEYS ? ` and ${keys.length - MAX_NAMED_KEYS} more` : "";
  return `unknown ${keys.length === 1 ? "setting" : "settings"} ${named}${more} (allowed: ${allowed})`;
}
