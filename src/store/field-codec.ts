import { z } from "zod";
import { desiredStateSchema } from "../lifecycle/desired.js";
import {
  artifactsSchema,
  checkpointsSchema,
  envConfigSchema,
  eventLogEntrySchema,
  statusSchema,
  type EventLogEntry,
} from "../lifecycle/environment.js";
import { intentSchema, type Intent } from "../lifecycle/intent.js";
import { shownSchema, type Shown } from "../lifecycle/shown.js";
import type { EnvFields, FieldName } from "../lifecycle/state-store.js";

/**
 * How each field is written as a string and read back. Both adapters use it,
 * so a record exported from one reads the same in the other. `status` and
 * `expires_at` are plain strings (DESIGN §3); the rest are JSON.
 */

const fieldSchemas: { [F in FieldName]: z.ZodType<EnvFields[F]> } = {
  status: statusSchema,
  config: envConfigSchema,
  artifacts: artifactsSchema as z.ZodType<EnvFields["artifacts"]>,
  expires_at: z.iso.datetime(),
  checkpoints: checkpointsSchema as z.ZodType<EnvFields["checkpoints"]>,
  desired: desiredStateSchema as z.ZodType<EnvFields["desired"]>,
};

const PLAIN_FIELDS: ReadonlySet<FieldName> = new Set(["status", "expires_at"]);

export class CorruptRecordError extends Error {
  constructor(what: string, cause: unknown) {
    super(`stored ${what} is not valid: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "CorruptRecordError";
  }
}

export function encodeField<F extends FieldName>(field: F, value: EnvFields[F]): string {
  return PLAIN_FIELDS.has(field) ? String(value) : JSON.stringify(value);
}

export function decodeField<F extends FieldName>(field: F, raw: string): EnvFields[F] {
  try {
    const value: unknown = PLAIN_FIELDS.has(field) ? raw : JSON.parse(raw);
    return fieldSchemas[field].parse(value);
  } catch (error) {
    throw new CorruptRecordError(`field "${field}"`, error);
  }
}

/** Decodes whichever fields are present; `raw` maps field name to stored string. */
export function decodeFields(raw: Partial<Record<FieldName, string | null>>): Partial<EnvFields> {
  const fields: Partial<EnvFields> = {};
  for (const [name, value] of Object.entries(raw) as Array<[FieldName, string | null | undefined]>) {
    if (value == null) continue;
    (fields as Record<FieldName, unknown>)[name] = decodeField(name, value);
  }
  return fields;
}

/** Encodes the fields of a change, in a stable order. */
export function encodeFields(set: Partial<EnvFields>): Array<[FieldName, string]> {
  return (Object.keys(set) as FieldName[])
    .filter((name) => set[name] !== undefined)
    .map((name) => [name, encodeField(name, set[name] as EnvFields[typeof name])]);
}

/** A record stored as JSON: checked on the way in, and on the way out a `CorruptRecordError` naming `what`. */
function jsonCodec<T>(schema: z.ZodType<T>, what: string) {
  return {
    encode: (value: T): string => JSON.stringify(schema.parse(value)),
    decode(raw: string): T {
      try {
        return schema.parse(JSON.parse(raw));
      } catch (error) {
        throw new CorruptRecordError(what, error);
      }
    },
  };
}

const intentCodec = jsonCodec<Intent>(intentSchema, "intent");
export const encodeIntent = intentCodec.encode;
export const decodeIntent = intentCodec.decode;

/**
 * An event log entry is stored as a JSON array, `[at, event]` or
 * `[at, event, detail]`: the log is the longest of an environment's values
 * and its entries all have the same three fields, so they are not named in
 * each. Entries written as objects (`{"at", "event", "detail"}`, before) read
 * back the same.
 */
const storedEventSchema = z.union([
  z.tuple([z.string(), z.string()]).transform(([at, event]): EventLogEntry => ({ at, event })),
  z.tuple([z.string(), z.string(), z.string()]).transform(([at, event, detail]): EventLogEntry => ({ at, event, detail })),
  eventLogEntrySchema,
]);

export function encodeEvent(entry: EventLogEntry): string {
  const { at, event, detail } = eventLogEntrySchema.parse(entry);
  return JSON.stringify(detail === undefined ? [at, event] : [at, event, detail]);
}

export function decodeEvent(raw: string): EventLogEntry {
  try {
    return storedEventSchema.parse(JSON.parse(raw));
  } catch (error) {
    throw new CorruptRecordError("event log entry", error);
  }
}

/** What the PR shows (the `github` key). */
const shownCodec = jsonCodec<Shown>(shownSchema as z.ZodType<Shown>, "record of what GitHub shows");
export const encodeShown = shownCodec.encode;
export const decodeShown = shownCodec.decode;
