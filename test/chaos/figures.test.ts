import { describe, expect, it } from "vitest";
import { stepFigures } from "./figures.js";
import type { Incarnation } from "./replicas.js";
import { parseStepLog } from "./step-log.js";

/**
 * How the chaos run reads its step log: which second run of a step is the
 * allowed at-least-once case and which is a fault. Lines as step.sh writes
 * them: kind, step, phase, environment, sha, ms, process group, app pid.
 */

const app = (pid: number, killedAt?: number): Incarnation => ({ replica: "replica-1", pid, startedAt: 0, ...(killedAt !== undefined && { killedAt }), output: () => "" });
const figures = (log: string, incarnations: Incarnation[], redisOutage?: { killedAt: number; restartedAt: number }) =>
  stepFigures({ steps: parseStepLog(log), incarnations, redisOutage, onUpdateSteps: new Set(["deploy"]) });

describe("chaos step figures", () => {
  it("a completed step run again while its app lived on is a re-run after its checkpoint", () => {
    const log = ["start deploy setup 1/pr-1 aaa 1000 11 100", "end deploy setup 1/pr-1 aaa 1500 11 100", "start deploy setup 1/pr-1 aaa 9000 12 100", "end deploy setup 1/pr-1 aaa 9500 12 100"].join("\n");
    expect(figures(log, [app(100)]).counts).toEqual({ stepsRerunAfterCheckpoint: 1 });
  });

  it("the same re-run after its app was killed -9 right after the step's end is the allowed case", () => {
    const log = ["start deploy setup 1/pr-1 aaa 1000 11 100", "end deploy setup 1/pr-1 aaa 1500 11 100", "start deploy setup 1/pr-1 aaa 9000 12 200", "end deploy setup 1/pr-1 aaa 9500 12 200"].join("\n");
    expect(figures(log, [app(100, 1600), app(200)]).counts).toEqual({ stepsRerunKilledBeforeCheckpoint: 1 });
  });

  it("so is a re-run after Redis went down as the step ended (its checkpoint could not be written)", () => {
    const log = ["start undeploy teardown 1/pr-1 aaa 1000 11 100", "end undeploy teardown 1/pr-1 aaa 1500 11 100", "start undeploy teardown 1/pr-1 aaa 30000 12 100", "end undeploy teardown 1/pr-1 aaa 30400 12 100"].join("\n");
    expect(figures(log, [app(100)], { killedAt: 1200, restartedAt: 16000 }).counts).toEqual({ stepsRerunKilledBeforeCheckpoint: 1 });
    expect(figures(log, [app(100)]).counts).toEqual({ teardownsDoubled: 1 });
  });

  it("a step that ends after its app was killed, beyond the watchdog's 2 s, outlived it; a run started before that end ran twice at once", () => {
    const log = ["start deploy setup 1/pr-1 aaa 1000 11 100", "start deploy setup 1/pr-1 aaa 1800 12 200", "end deploy setup 1/pr-1 aaa 3300 11 100", "end deploy setup 1/pr-1 aaa 3500 12 200"].join("\n");
    expect(figures(log, [app(100, 1200), app(200)]).counts).toEqual({ stepsOutlivingTheirApp: 1, stepsRunTwiceAtOnce: 1 });
  });

  it("an end logged while the watchdog reacts to its app's kill is a step killed with it", () => {
    const log = ["start deploy setup 1/pr-1 aaa 1000 11 100", "end deploy setup 1/pr-1 aaa 1250 11 100"].join("\n");
    expect(figures(log, [app(100, 1200)]).counts).toEqual({});
  });

  it("a step killed with its app and run again is not counted, nor a push's new sha", () => {
    const log = ["start deploy setup 1/pr-1 aaa 1000 11 100", "start deploy setup 1/pr-1 aaa 3000 12 200", "end deploy setup 1/pr-1 aaa 3500 12 200", "start deploy setup 1/pr-1 bbb 5000 13 200", "end deploy setup 1/pr-1 bbb 5500 13 200"].join("\n");
    expect(figures(log, [app(100, 1200), app(200)]).counts).toEqual({});
  });
});
