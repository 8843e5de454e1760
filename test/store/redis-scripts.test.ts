import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeReply, UnexpectedScriptReplyError } from "../../src/store/redis/script-replies.js";
import { readScript } from "../../src/store/redis/scripts.js";

describe("Redis Lua includes", () => {
  let dir: string;
  const write = (name: string, text: string) => {
    mkdirSync(join(dir, "includes"), { recursive: true });
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ephemera-lua-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("inlines an include where it is named, relative to the including file", () => {
    write("includes/a.lua", "local function a() end\n");
    const script = write("main-1.lua", '-- header\n--- @include "includes/a"\nreturn a()\n');
    expect(readScript(script)).toBe("-- header\nlocal function a() end\nreturn a()\n");
  });

  it("inlines a file once, however many times and through whatever include it is named", () => {
    write("includes/base.lua", "local function base() end\n");
    write("includes/b.lua", '--- @include "base"\nlocal function b() end\n');
    write("includes/c.lua", '--- @include "base"\nlocal function c() end\n');
    const script = write("main-1.lua", '--- @include "includes/b"\n--- @include "includes/c"\n--- @include "includes/b"\nreturn 1\n');
    expect(readScript(script)).toBe("local function base() end\nlocal function b() end\n\nlocal function c() end\n\nreturn 1\n");
  });

  it("names the missing include and the file that wants it", () => {
    const script = write("main-1.lua", '--- @include "includes/nowhere"\nreturn 1\n');
    expect(() => readScript(script)).toThrow(/include .*includes\/nowhere\.lua \(included from .*main-1\.lua\) does not exist/);
  });

  it("refuses a cycle, naming it", () => {
    write("includes/a.lua", '--- @include "b"\n');
    write("includes/b.lua", '--- @include "a"\n');
    const script = write("main-1.lua", '--- @include "includes/a"\nreturn 1\n');
    expect(() => readScript(script)).toThrow(/include cycle: .*main-1\.lua -> .*a\.lua -> .*b\.lua -> .*a\.lua/);
  });
});

describe("Redis script replies", () => {
  it("decodes each reply a script's header lists into its caller's value", () => {
    expect(decodeReply("commit", [0])).toEqual({ result: "fenced" });
    expect(decodeReply("commit", [1, ""])).toEqual({ result: "committed", min: null });
    expect(decodeReply("commit", [1, "1700000000000"])).toEqual({ result: "committed", min: 1_700_000_000_000 });
    expect(decodeReply("admit", [0, 3])).toEqual({ admitted: false, position: 3 });
    expect(decodeReply("release-admission", ["7/pr-1"])).toEqual([{ repoId: 7, pr: 1 }]);
    expect(decodeReply("claim-due", [5000, "10", "pr-2", "9"])).toEqual({ ttlMs: 5000, min: 10, taken: [{ pr: 2, score: 9 }] });
  });

  it("refuses any other reply with UnexpectedScriptReplyError, naming the script", () => {
    for (const [script, reply] of [["commit", [2]], ["hold-lease", "OK"], ["admit", [1, 4]], ["claim-due", [1]]] as const) {
      expect(() => decodeReply(script, reply)).toThrow(UnexpectedScriptReplyError);
    }
    expect(() => decodeReply("record-intent", 2)).toThrow(/record-intent answered 2/);
  });
});
