import { describe, expect, it } from "vitest";
import { COMMANDS_HELP, needsWrite, parseCommand } from "../../../src/github/commands/parse-command.js";

const H = 3_600_000;

function reasonOf(body: string): string {
  const parsed = parseCommand(body);
  if (parsed.kind !== "invalid") throw new Error(`expected invalid, got ${JSON.stringify(parsed)}`);
  return parsed.reason;
}

describe("parseCommand", () => {
  it.each([
    ["/preview help", "help", false],
    ["/preview status", "status", false],
    ["/preview redeploy", "redeploy", true],
    ["/preview destroy", "destroy", true],
    ["/preview deploy", "deploy", true],
    ["/preview extend", "extend", true],
  ] as const)("reads %j", (body, verb, write) => {
    expect(parseCommand(body)).toEqual({ kind: "command", verb });
    expect(needsWrite(verb)).toBe(write);
  });

  it("reads deploy with a full sha, and refuses anything shorter", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    expect(parseCommand(`/preview deploy ${sha}`)).toEqual({ kind: "command", verb: "deploy", sha });
    expect(parseCommand(`/preview deploy ${sha.toUpperCase()}`)).toEqual({ kind: "command", verb: "deploy", sha });
    expect(reasonOf("/preview deploy 0123456")).toBe(`/preview deploy takes the head's full 40-character commit sha (got "0123456")`);
    expect(reasonOf(`/preview deploy ${sha} now`)).toMatch(/^\/preview deploy takes the head's full 40-character commit sha/);
  });

  it("reads extend with a duration", () => {
    expect(parseCommand("/preview extend 4h")).toEqual({ kind: "command", verb: "extend", durationMs: 4 * H });
    expect(parseCommand("/preview extend 1h30m")).toMatchObject({ durationMs: 1.5 * H });
    // What the comment shows ("1h 30m") can be typed back.
    expect(parseCommand("/preview extend 1h 30m")).toMatchObject({ durationMs: 1.5 * H });
  });

  it("is case-insensitive in the verb, the prefix and the duration", () => {
    expect(parseCommand("/preview DESTROY")).toMatchObject({ kind: "command", verb: "destroy" });
    expect(parseCommand("/Preview Extend 2D")).toMatchObject({ kind: "command", verb: "extend", durationMs: 48 * H });
  });

  it("allows whitespace around the command and between its words", () => {
    expect(parseCommand("   /preview \t  status   ")).toMatchObject({ kind: "command", verb: "status" });
    expect(parseCommand("\t/preview extend   2h  ")).toMatchObject({ durationMs: 2 * H });
  });

  it("reads only the first line, whatever the line endings", () => {
    expect(parseCommand("/preview destroy\r\nthanks!\r\n/preview deploy")).toMatchObject({ verb: "destroy" });
    expect(parseCommand("/preview extend 2h\rmore text")).toMatchObject({ durationMs: 2 * H });
    expect(parseCommand("/preview status\n")).toMatchObject({ verb: "status" });
  });

  it.each([
    "",
    "hello",
    "/previewfoo",
    "/preview-destroy",
    "/previews status",
    "preview destroy",
    "please /preview destroy",
    "> /preview destroy",
    "`/preview destroy`",
    "```\n/preview destroy\n```",
    "Try this:\n/preview destroy",
    "LGTM\n\n> /preview destroy",
    "Some code:\n\n```\n/preview destroy\n```",
    "\n/preview destroy", // the first line is empty
  ])("does not take %j for a command", (body) => {
    expect(parseCommand(body)).toEqual({ kind: "none" });
  });

  it("lists the commands for an unknown verb", () => {
    expect(reasonOf("/preview frobnicate")).toBe(
      '"frobnicate" is not a command; the commands are: help, status, extend [duration], redeploy, destroy, deploy [sha]',
    );
  });

  it("asks for a command after a bare /preview", () => {
    expect(reasonOf("/preview")).toMatch(/^say which command after \/preview; the commands are: help, status/);
    expect(reasonOf("  /preview  \nhelp")).toMatch(/^say which command/);
  });

  it("rejects a bad duration with the duration's own message", () => {
    expect(reasonOf("/preview extend 4x")).toBe('"4x" is not a duration (examples: 30m, 4h, 2d, 1h30m)');
    expect(reasonOf("/preview extend 0m")).toMatch(/^"0m" is zero/);
    expect(reasonOf("/preview extend 99999999999d")).toMatch(/is too long/);
    expect(reasonOf("/preview extend 2h please")).toBe('"2h please" is not a duration (examples: 30m, 4h, 2d, 1h30m)');
  });

  it("rejects extra arguments to a command that takes none", () => {
    expect(reasonOf("/preview destroy now")).toBe('/preview destroy takes no arguments (got "now")');
    expect(reasonOf("/preview help me please")).toBe('/preview help takes no arguments (got "me please")');
  });

  it("shortens what it quotes from the comment", () => {
    expect(reasonOf(`/preview ${"x".repeat(150)}`).length).toBeLessThan(200);
  });

  it("reads at most 200 characters: a longer command line is refused, not cut short", () => {
    // Cut at 200 characters this would read as a valid `/preview status`.
    expect(reasonOf(`/preview status${" ".repeat(300)}x`)).toBe("that command is too long (at most 200 characters)");
    expect(parseCommand(`/preview extend 2h${" ".repeat(150)}`)).toMatchObject({ durationMs: 2 * H });
  });

  it("handles huge comments", () => {
    expect(parseCommand(`/preview status\n${"a\n".repeat(2_000_000)}`)).toMatchObject({ verb: "status" });
    expect(parseCommand("x".repeat(4_000_000))).toEqual({ kind: "none" });
  });
});

describe("COMMANDS_HELP", () => {
  it("is a markdown table with every command and who may use it", () => {
    const rows = COMMANDS_HELP.split("\n");
    expect(rows[0]).toBe("| command | who | what it does |");
    expect(rows.slice(2).map((row) => row.split(" | ").slice(0, 2))).toEqual([
      ["| `/preview help`", "anyone"],
      ["| `/preview status`", "anyone"],
      ["| `/preview extend [duration]`", "write access"],
      ["| `/preview redeploy`", "write access"],
      ["| `/preview destroy`", "write access"],
      ["| `/preview deploy [sha]`", "write access"],
    ]);
  });
});
