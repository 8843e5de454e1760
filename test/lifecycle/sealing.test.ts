import { describe, expect, it } from "vitest";
import { createSealer, isSealed, UnsealError } from "../../src/lifecycle/sealing.js";

const KEY = "k".repeat(32);

describe("secrets", () => {
  it("seals to a versioned, opaque string and unseals it back", () => {
    const sealer = createSealer(KEY);
    const url = "postgres://eph_1_pr2:pässwörd@db:5432/eph_1_pr2";
    const sealed = sealer.seal(url);

    expect(sealed).toMatch(/^sealed:v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain("pässwörd");
    expect(isSealed(sealed)).toBe(true);
    expect(isSealed(url)).toBe(false);
    expect(sealer.unseal(sealed)).toBe(url);
    expect(createSealer(KEY).unseal(sealed)).toBe(url);
  });

  it("never seals the same value to the same string", () => {
    const sealer = createSealer(KEY);
    expect(sealer.seal("same")).not.toBe(sealer.seal("same"));
  });

  it("refuses a value sealed under another key, with a message that says why", () => {
    const sealed = createSealer(KEY).seal("secret");
    expect(() => createSealer("another key material of enough length").unseal(sealed)).toThrow(UnsealError);
    expect(() => createSealer("another key material of enough length").unseal(sealed)).toThrow(/sealed with a key EPHEMERA_SECRET_KEY does not list/);
  });

  it("seals with the first of several keys and unseals with any of them, for a rotation", () => {
    const [previous, next] = [KEY, "n".repeat(32)];
    const old = createSealer(previous).seal("sealed before the rotation");
    const rotating = createSealer([next, previous]);
    expect(rotating.unseal(old)).toBe("sealed before the rotation");
    const fresh = rotating.seal("sealed after it");
    expect(createSealer(next).unseal(fresh)).toBe("sealed after it");
    expect(() => createSealer(previous).unseal(fresh)).toThrow(UnsealError);
  });

  it("refuses an altered, truncated or unsealed value", () => {
    const sealer = createSealer(KEY);
    const sealed = sealer.seal("secret");
    const packed = Buffer.from(sealed.slice("sealed:v1:".length), "base64url");
    packed[packed.length - 1] = (packed.at(-1) ?? 0) ^ 1;
    expect(() => sealer.unseal(`sealed:v1:${packed.toString("base64url")}`)).toThrow(/altered/);
    expect(() => sealer.unseal("sealed:v1:abcd")).toThrow(/truncated/);
    expect(() => sealer.unseal("plain")).toThrow(/not a sealed value/);
  });

  it("refuses empty key material", () => {
    expect(() => createSealer("")).toThrow(/empty/);
    expect(() => createSealer([])).toThrow(/empty/);
    expect(() => createSealer([KEY, ""])).toThrow(/empty/);
  });
});
