import { describe, expect, it } from "vitest";
import { GitHubReachability } from "../../src/metrics/github-reachability.js";

describe("GitHub reachability", () => {
  let clock = 0;
  const at = (seconds: number) => (clock = seconds * 1000);
  const tracker = () => {
    clock = 0;
    return new GitHubReachability(() => clock);
  };

  it("is unreachable once every request has failed for more than a minute, and reachable again at the next answer", () => {
    const github = tracker();
    for (const second of [0, 20, 40, 60]) {
      at(second);
      github.failed();
      expect(github.unreachable(), `after ${second} s`).toBe(false);
    }
    at(61);
    github.failed();
    expect(github.unreachable()).toBe(true);
    at(62);
    github.answered();
    expect(github.unreachable()).toBe(false);
  });

  it("counts from the first failure after an answer", () => {
    const github = tracker();
    github.failed();
    at(50);
    github.answered();
    for (const second of [51, 100, 111]) {
      at(second);
      github.failed();
    }
    expect(github.unreachable()).toBe(false);
    at(112);
    github.failed();
    expect(github.unreachable()).toBe(true);
  });

  it("does not hold on to old failures when no request has been made for five minutes", () => {
    const github = tracker();
    github.failed();
    at(90);
    github.failed();
    expect(github.unreachable()).toBe(true);
    at(90 + 301);
    expect(github.unreachable()).toBe(false);
  });
});
