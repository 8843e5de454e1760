import { describe, expect, it } from "vitest";
import {
  formatDuration,
  formatRelative,
  InvalidDurationError,
  MAX_DURATION_MS,
  parseDuration,
} from "../../src/config/duration.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe("parseDuration", () => {
  it.each([
    ["30m", 30 * M],
    ["4h", 4 * H],
    ["2d", 2 * D],
    ["1w", 7 * D],
    ["45s", 45 * S],
    ["1h30m", 90 * M],
    ["90m", 90 * M],
    ["1d12h", 36 * H],
    ["1w2d3h4m5s", 9 * D + 3 * H + 4 * M + 5 * S],
    ["4H", 4 * H],
    ["1D12h", 36 * H],
    ["1h 30m", 90 * M],
    ["  2d ", 2 * D],
    ["2 h", 2 * H],
    ["0h30m", 30 * M],
    ["007m", 7 * M],
  ])("reads %j", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    "",
    "   ",
    "m",
    "30",
    "30x",
    "1.5h",
    "-5m",
    "+5m",
    "5 m x",
    "1mo",
    "1min",
    "5ms",
    "1y",
    "30m1h", // out of order
    "1h1h", // repeated
    "1 0m",
    "1h,30m",
    "٣m", // non-ASCII digit
  ])("rejects %j with the input quoted and examples", (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidDurationError);
    expect(() => parseDuration(text)).toThrow(`${JSON.stringify(text)} is not a duration (examples: 30m, 4h, 2d, 1h30m)`);
  });

  it.each(["0m", "0h0m", "00d"])("rejects zero %j", (text) => {
    expect(() => parseDuration(text)).toThrow(`${JSON.stringify(text)} is zero`);
  });

  it("rejects overflow and anything over the maximum, naming the maximum", () => {
    expect(() => parseDuration("99999999999d")).toThrow('"99999999999d" is too long: at most 3650d');
    expect(() => parseDuration("999999999999999999999999999999w")).toThrow("is too long");
    expect(() => parseDuration("3651d")).toThrow("is too long");
    expect(parseDuration("3650d")).toBe(MAX_DURATION_MS);
  });

  it("rejects very long input without echoing all of it", () => {
    const text = "1h".repeat(10_000);
    expect(() => parseDuration(text)).toThrow(InvalidDurationError);
    try {
      parseDuration(text);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(120);
    }
  });
});

describe("formatDuration", () => {
  it.each([
    [90 * M, "1h 30m"],
    [36 * H, "1d 12h"],
    [7 * D, "7d"],
    [14 * D, "14d"],
    [D + 5 * M, "1d 5m"],
    [45 * S, "45s"],
    [0, "0s"],
    [1499, "1s"],
    [-90 * M, "-1h 30m"],
  ])("formats %d ms as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("reads back what it writes", () => {
    for (const ms of [90 * M, 36 * H + 5 * S, 3 * D + 59 * M]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe("formatRelative", () => {
  it.each([
    [3 * H + 20 * M, "in 3h 20m"],
    [-2 * M, "2m ago"],
    [3 * H + 20 * M + 29 * S, "in 3h 20m"],
    [3 * H + 20 * M + 31 * S, "in 3h 21m"],
    [D + 4 * H + 20 * M, "in 1d 4h"],
    [-(2 * D + 40 * M), "2d 1h ago"],
    [29 * S, "just now"],
    [-29 * S, "just now"],
    [0, "just now"],
  ])("formats %d ms as %j", (ms, text) => {
    expect(formatRelative(ms)).toBe(text);
  });
});
