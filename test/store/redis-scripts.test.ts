import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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
