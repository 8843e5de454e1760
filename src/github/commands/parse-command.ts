import { show } from "../../config/config-error.js";
import { InvalidDurationError, parseDuration } from "../../config/duration.js";
import { FULL_SHA, type ParsedCommand, type Verb } from "../../lifecycle/intent.js";

/**
 * Slash-commands in PR comments (DESIGN §6). Only the first line of a
 * comment counts, and only when it starts with `/preview`: a `/preview`
 * quoted, in a code block or further down is someone talking about the
 * command, not giving it.
 */

interface CommandSpec {
  verb: Verb;
  usage: string;
  /** Write access means permission `write`, `maintain` or `admin` on the repository. */
  needsWrite: boolean;
  effect: string;
}

/** The one list the parser, the help reply and the sticky comment all read. */
const COMMANDS: readonly CommandSpec[] = [
  { verb: "help", usage: "/preview help", needsWrite: false, effect: "reply with this list" },
  { verb: "status", usage: "/preview status", needsWrite: false, effect: "refresh the status comment" },
  {
    verb: "extend",
    usage: "/preview extend [duration]",
    needsWrite: true,
    effect: "push the expiry out by the duration (`30m`, `4h`, `2d`, `1h30m`; default: the template's TTL), up to the template's maximum from now",
  },
  { verb: "redeploy", usage: "/preview redeploy", needsWrite: true, effect: "re-run every setup step for the head commit" },
  { verb: "destroy", usage: "/preview destroy", needsWrite: true, effect: "tear the environment down now" },
  {
    verb: "deploy",
    usage: "/preview deploy [sha]",
    needsWrite: true,
    effect:
      "create the environment where policy did not (fork PRs, label mode, after expiry); for a fork, it covers the head pushed before this comment (or the full sha given, when it is the head), and a later push waits for a new approval",
  },
];

/** Markdown: the commands and who may use them. */
export const COMMANDS_HELP = [
  "| command | who | what it does |",
  "| --- | --- | --- |",
  ...COMMANDS.map(({ usage, needsWrite, effect }) => `| \`${usage}\` | ${needsWrite ? "write access" : "anyone"} | ${effect} |`),
].join("\n");

/** Whether the verb needs write access (permission `write`, `maintain` or `admin`). */
export function needsWrite(verb: Verb): boolean {
  return COMMANDS.find((spec) => spec.verb === verb)?.needsWrite ?? true;
}

/** Longer first lines are not commands anyone typed; reading only this much bounds the work. */
const MAX_LINE = 200;
const PREFIX = /^\/preview(?=\s|$)/i;
const COMMAND_LIST = `the commands are: ${COMMANDS.map(({ usage }) => usage.replace("/preview ", "")).join(", ")}`;

/** A command, why it is not one (`reason` quotes what was typed; `renderCommandReply` escapes it), or "none" for a comment that gives no command. */
export function parseCommand(body: string): ParsedCommand | { kind: "none" } {
  const firstLine = body.slice(0, MAX_LINE + 1).split(/\r\n|\r|\n/, 1)[0] ?? "";
  const line = firstLine.trim();
  if (!PREFIX.test(line)) return { kind: "none" };
  if (firstLine.length > MAX_LINE) return { kind: "invalid", reason: `that command is too long (at most ${MAX_LINE} characters)` };

  const [word = "", ...args] = line.slice("/preview".length).trim().split(/\s+/);
  if (word === "") return { kind: "invalid", reason: `say which command after /preview; ${COMMAND_LIST}` };
  const spec = COMMANDS.find(({ verb }) => verb === word.toLowerCase());
  if (spec === undefined) return { kind: "invalid", reason: `${show(word)} is not a command; ${COMMAND_LIST}` };

  const command = { kind: "command", verb: spec.verb } as const;
  if (spec.verb === "extend") return args.length === 0 ? command : withDuration(command, args.join(" "));
  if (spec.verb === "deploy" && args.length > 0) return withSha(command, args);
  if (args.length > 0) return { kind: "invalid", reason: `${spec.usage} takes no arguments (got ${show(args.join(" "))})` };
  return command;
}

/** `/preview deploy <sha>`: the full sha, so what is approved is exactly the commit the approver names. */
function withSha(command: Extract<ParsedCommand, { kind: "command" }>, args: string[]): ParsedCommand {
  const sha = args[0]?.toLowerCase() ?? "";
  if (args.length === 1 && FULL_SHA.test(sha)) return { ...command, sha };
  return { kind: "invalid", reason: `/preview deploy takes the head's full 40-character commit sha (got ${show(args.join(" "))})` };
}

function withDuration(command: Extract<ParsedCommand, { kind: "command" }>, text: string): ParsedCommand {
  try {
    return { ...command, durationMs: parseDuration(text) };
  } catch (error) {
    if (!(error instanceof InvalidDurationError)) throw error;
    return { kind: "invalid", reason: error.message };
  }
}
