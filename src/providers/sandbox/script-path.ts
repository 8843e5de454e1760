import { resolve } from "node:path";

/** A command's first word when it is a plain relative path (`./deploy.sh`, `../bin/x`), ending at a space or a shell operator. */
const RELATIVE_FIRST_WORD = /^(\.{1,2}\/[^\s;&|<>()$`"'\\]*)(?=$|[\s;&|<>()])/;

/**
 * Steps run in their environment's working directory, but a script the
 * operator names relatively lives next to the operator config (DESIGN §7):
 * a command that starts with a relative path gets that path made absolute
 * against the config file's directory, quoted. The rest of the command is
 * the operator's, unchanged; nothing from a PR is ever part of it.
 */
export function resolveScriptPath(command: string, configDir: string): string {
  const match = RELATIVE_FIRST_WORD.exec(command);
  if (match?.[1] === undefined) return command;
  const absolute = resolve(configDir, match[1]);
  return `'${absolute.replaceAll("'", `'\\''`)}'${command.slice(match[1].length)}`;
}
