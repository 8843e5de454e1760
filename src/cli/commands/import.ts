import { readFile } from "node:fs/promises";
import type { EnvKey } from "../../lifecycle/environment.js";
import { REDACTED_MARKER, SEALED_MARKER } from "../../read-model/redact.js";
import { makeKeys } from "../../store/keys.js";
import { CliFailure, positionals, type Command } from "../command.js";
import { exportFileSchema, type ExportFile } from "../export-file.js";
import { envLabel } from "../find-environment.js";

export const importCommand: Command = {
  name: "import",
  writesStore: true,
  summary: "read an export back into the configured store",
  help: `Usage: ephemera import <file>

Writes the keys of an \`ephemera export\` file into the configured store (Redis
or embedded), with the TTLs they had left, for reproducing a case on another
store. The store's EPHEMERA_KEY_PREFIX must be the export's. An environment
the store already has is never overwritten: the import refuses.

Redacted values stay redacted: a sealed output comes back as ${SEALED_MARKER}, a
credential as ${REDACTED_MARKER}. A step that needs one of them will not get it.

Imported environments are due at once: an Ephemera running on this store
reconciles them (and may run their steps or tear them down).`,
  options: {},

  async run(args, cli) {
    const [path] = positionals(args, ["file"]);
    const file = await readExport(path);
    const { store } = await cli.runtime({ create: true });
    const envs = environmentsOf(file, cli.env.keyPrefix);
    const existing: EnvKey[] = [];
    for (const key of envs) if ((await store.load(key)) !== null) existing.push(key);
    if (existing.length > 0) {
      throw new CliFailure(`the store already has ${existing.length} of these environments (${existing.slice(0, 5).map((key) => envLabel("", key)).join(", ")}): import into a store that does not`);
    }
    await store.importKeys(file.keys);
    cli.out.print(`imported ${file.keys.length} keys of ${envs.length} environments into the ${store.kind} store`);
    if (file.redacted > 0) cli.out.note(`${file.redacted} values were redacted at export and are imported as the markers (${SEALED_MARKER}, ${REDACTED_MARKER}), not as the secrets`);
    cli.out.note("they are due now: an Ephemera running on this store reconciles them");
    return 0;
  },
};

async function readExport(path: string): Promise<ExportFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CliFailure(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliFailure(`${path} is not JSON: expected a file written by \`ephemera export\``);
  }
  const parsed = exportFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliFailure(`${path} is not an \`ephemera export\` file: ${issue?.path.join(".") || "the document"}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The environments the keys belong to; every key must be an environment's, under this store's prefix. */
function environmentsOf(file: ExportFile, prefix: string): EnvKey[] {
  if (file.prefix !== prefix) {
    throw new CliFailure(`the export's keys are under the prefix "${file.prefix}", this store's are under "${prefix}": set EPHEMERA_KEY_PREFIX=${file.prefix} to import it`);
  }
  const keys = makeKeys(prefix);
  const envs = new Map<string, EnvKey>();
  for (const entry of file.keys) {
    const named = keys.parseEnv(entry.key);
    if (named === null) throw new CliFailure(`${entry.key} is not a key of an environment: the file was not written by \`ephemera export\``);
    envs.set(keys.envBase(named.key), named.key);
  }
  return [...envs.values()];
}
