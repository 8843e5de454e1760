import { writeFile } from "node:fs/promises";
import type { RepoRef } from "../../read-model/environment-filter.js";
import { prArg, repoArg } from "../args.js";
import { UsageError, stringOption, type Command } from "../command.js";
import { exportFile } from "../export-file.js";
import { findEnvironment } from "../find-environment.js";

export const exportCommand: Command = {
  name: "export",
  summary: "write every key of one or all environments as JSON, secrets redacted",
  help: `Usage: ephemera export [<owner/name> <pr>] [--out <file>]

Writes every key of one environment, or of all, as the store holds it (key,
value, remaining store TTL) in one JSON document that \`ephemera import\`
reads back, into this store or another (Redis or embedded) with the same
EPHEMERA_KEY_PREFIX: for reproducing a case elsewhere.

Secrets are redacted: sealed values become [sealed], URL credentials and
values named like password/secret/token become [redacted]. Redaction cannot
be undone: an import brings the markers, not the secrets.

Options:
  --out <file>  write to this file (created readable by you alone) instead of stdout`,
  options: { out: { type: "string" } },

  async run(args, cli) {
    const one = environmentArgs(args.positionals);
    const { store } = await cli.runtime();
    const keys = one === undefined ? await store.listKeys() : [(await findEnvironment(store, one.repo, one.pr)).key];
    const progress = cli.out.progress("export", keys.length);
    const exported = [];
    for (const key of keys) {
      exported.push(...(await store.exportKeys(key)));
      progress.tick();
    }
    progress.done();
    const file = exportFile({ store: store.kind, prefix: cli.env.keyPrefix, keys: exported, now: Date.now() });
    const out = stringOption(args, "out");
    if (out === undefined) {
      cli.out.json(file);
    } else {
      await writeFile(out, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    }
    cli.out.note(`exported ${file.keys.length} keys of ${keys.length} environments${out === undefined ? "" : ` to ${out}`}; ${file.redacted} values redacted`);
    return 0;
  },
};

/** No arguments: every environment; or `<owner/name> <pr>`: that one. */
function environmentArgs(args: string[]): { repo: RepoRef; pr: number } | undefined {
  const [repoText, prText, ...rest] = args;
  if (repoText === undefined) return undefined;
  if (prText === undefined || rest.length > 0) throw new UsageError("expected no arguments (every environment), or <owner/name> <pr>");
  return { repo: repoArg(repoText), pr: prArg(prText) };
}
