import { describe, expect, it } from "vitest";
import { DEFAULT_ENGINE_OPTIONS } from "../../src/lifecycle/engine.js";

describe("the engine's default options", () => {
  // A claim hid an environment for 120 s while its lease ran out after 30: an
  // intent recorded while a replica worked on it, then that replica killed -9,
  // waited 120 s (the chaos suite's 90 s settle window saw it "lost").
  it("hide a claimed environment no longer than a dead worker's lease holds it", () => {
    expect(DEFAULT_ENGINE_OPTIONS.claimHideMs).toBeLessThanOrEqual(DEFAULT_ENGINE_OPTIONS.leaseTtlMs);
  });
});
