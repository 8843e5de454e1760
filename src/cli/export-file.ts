import { z } from "zod";
import type { ExportedKey } from "../lifecycle/state-store.js";
import { redactStored } from "../read-model/redact.js";

/**
 * What `export` writes and `import` reads: every key of some environments as
 * the store holds it (`StateStore.exportKeys`), redacted, with where it came
 * from. Both adapters export and import the same shape, so a case exported
 * from Redis reproduces on the embedded store and back, under the same
 * EPHEMERA_KEY_PREFIX.
 */

export const EXPORT_FORMAT = "ephemera-export";

const exportedKeySchema = z.object({
  key: z.string(),
  /** A string (JSON for JSON fields), a list's entries, or a sorted set's [member, score] pairs. */
  value: z.union([z.string(), z.array(z.string()), z.array(z.tuple([z.string(), z.number()]))]),
  /** Store TTL left at export time; null: the key never expires. */
  ttlMs: z.number().int().positive().nullable(),
});

export const exportFileSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(1),
  exportedAt: z.string(),
  store: z.enum(["redis", "sqlite"]),
  /** EPHEMERA_KEY_PREFIX of the store: every key starts with it, so it imports only under the same one. */
  prefix: z.string(),
  /** How many values were redacted: they import as the markers, not as what was stored. */
  redacted: z.number().int().nonnegative(),
  keys: z.array(exportedKeySchema),
});
export type ExportFile = z.infer<typeof exportFileSchema>;

/** The keys as they go into the file: redacted, and without any that expired while they were read. */
export function exportFile(params: { store: ExportFile["store"]; prefix: string; keys: ExportedKey[]; now: number }): ExportFile {
  let redacted = 0;
  const redact = (stored: string) => {
    const value = redactStored(stored);
    if (value !== stored) redacted += 1;
    return value;
  };
  const keys = params.keys
    .filter((entry) => entry.ttlMs === null || entry.ttlMs > 0)
    .map((entry): ExportedKey => ({ ...entry, value: redactEntryValue(entry.value, redact) }));
  return { format: EXPORT_FORMAT, version: 1, exportedAt: new Date(params.now).toISOString(), store: params.store, prefix: params.prefix, redacted, keys };
}

function redactEntryValue(value: ExportedKey["value"], redact: (stored: string) => string): ExportedKey["value"] {
  if (typeof value === "string") return redact(value);
  return value.map((item) => (typeof item === "string" ? redact(item) : [redact(item[0]), item[1]])) as ExportedKey["value"];
}
