import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/config/policy.js";
import type { Template } from "../../src/config/template-schema.js";
import { assess } from "../../src/lifecycle/assess.js";
import type { DesiredState } from "../../src/lifecycle/desired.js";
import type { Checkpoints, Progress } from "../../src/lifecycle/environment.js";
import { creationBlocker } from "../../src/lifecycle/gates.js";
import {
  isStepDone,
  plan as planAction,
  planSetup,
  planStepFailure,
  planTeardownFailure,
  planTeardownStep,
  teardownActions,
  teardownCause,
  type PlanInput,
  type SetupInput,
} from "../../src/lifecycle/plan.js";
import { DEFAULT_BACKOFF, DEFAULT_ERROR_RETRY_MS, errorRetryAt, type RetryPolicy } from "../../src/lifecycle/retry-policy.js";
import type { EnvSettings } from "../../src/lifecycle/settings.js";
import { HOUR, operatorConfig } from "./harness.js";

const now = Date.UTC(2026, 0, 1, 12);
const SHA1 = "1".repeat(40);
const SHA2 = "2".repeat(40);

const template = operatorConfig({
  templates: {
    default: {
      steps: [
        { name: "database", uses: "postgres" },
        { name: "build", run: "./build" },
        { name: "deploy", run: "./deploy", onUpdate: true },
      ],
      teardown: [{ name: "undeploy", run: "./undeploy" }],
    },
  },
}).templates.default as Template;

const policy: Policy = { forks: "approve", drafts: "skip", trigger: "auto", label: "preview" };

function desired(overrides: Partial<DesiredState> = {}): DesiredState {
  return {
    open: true,
    openAt: "2026-01-01T11:00:00.000Z",
    repo: "octo/app",
    installationId: 7,
    headSha: SHA1,
    headRef: "feature",
    headAt: "2026-01-01T11:00:00.000Z",
    fork: false,
    draft: false,
    labels: [],
    redeployGeneration: 0,
    ...overrides,
  };
}

const done = (sha: string, generation = 0) => ({ sha, at: "t", outputs: {}, generation });
const allDone: Checkpoints = { database: done(SHA1), build: done(SHA1), deploy: done(SHA1) };
const noProgress: Progress = { started: [], tornDown: [] };

function plan(overrides: Partial<SetupInput>) {
  return planSetup({
    now,
    status: "provisioning",
    desired: desired(),
    template,
    policy,
    checkpoints: {},
    progress: noProgress,
    expiresAt: now + 10 * HOUR,
    warnedFor: undefined,
    ...overrides,
  });
}

describe("which step runs next", () => {
  it("never runs a completed step again for the same sha; on a new head only onUpdate steps", () => {
    expect(isStepDone({ onUpdate: false }, done(SHA1), { sha: SHA2, generation: 0 })).toBe(true);
    expect(isStepDone({ onUpdate: true }, done(SHA1), { sha: SHA1, generation: 0 })).toBe(true);
    expect(isStepDone({ onUpdate: true }, done(SHA1), { sha: SHA2, generation: 0 })).toBe(false);
    expect(isStepDone({ onUpdate: false }, undefined, { sha: SHA1, generation: 0 })).toBe(false);
  });

  it("re-runs every step when a redeploy generation is ahead of the one they ran for", () => {
    expect(isStepDone({ onUpdate: false }, done(SHA1, 0), { sha: SHA1, generation: 1 })).toBe(false);
    expect(isStepDone({ onUpdate: false }, done(SHA1, 1), { sha: SHA1, generation: 1 })).toBe(true);
  });

  it("walks the steps in order, then goes ready, then idles", () => {
    expect(plan({ checkpoints: { database: done(SHA1) } })).toMatchObject({ kind: "run-step", step: { name: "build" } });
    expect(plan({ checkpoints: allDone })).toEqual({ kind: "go-ready" });
    expect(plan({ checkpoints: allDone, status: "ready" })).toEqual({ kind: "idle" });
    expect(plan({ checkpoints: allDone, status: "ready", desired: desired({ headSha: SHA2 }) })).toMatchObject({ kind: "run-step", step: { name: "deploy" } });
  });

  it("waits out a retry backoff, and leaves a failed environment alone until a new head or a redeploy", () => {
    const retry = { action: "build", sha: SHA1, attempts: 1, nextAt: now + 500 };
    expect(plan({ progress: { ...noProgress, retry } })).toEqual({ kind: "wait", until: now + 500 });
    const failedFor = { sha: SHA1, generation: 0 };
    expect(plan({ status: "failed", progress: { ...noProgress, failedFor } })).toEqual({ kind: "idle" });
    expect(plan({ status: "failed", progress: { ...noProgress, failedFor }, desired: desired({ headSha: SHA2 }) })).toMatchObject({ kind: "run-step" });
    expect(plan({ status: "failed", progress: { ...noProgress, failedFor }, desired: desired({ redeployGeneration: 1 }) })).toMatchObject({ kind: "run-step" });
  });

  it("asks for admission before anything is made, and warns once before expiry", () => {
    expect(plan({ status: "new" })).toEqual({ kind: "admit" });
    expect(plan({ status: "queued" })).toEqual({ kind: "admit" });
    expect(plan({ status: "ready", checkpoints: allDone, expiresAt: now + HOUR - 1 })).toEqual({ kind: "warn" });
    expect(plan({ status: "ready", checkpoints: allDone, expiresAt: now + HOUR - 1, warnedFor: new Date(now + HOUR - 1).toISOString() })).toEqual({ kind: "idle" });
  });
});

describe("policy gates", () => {
  it("says why a PR gets no environment", () => {
    expect(creationBlocker(desired({ fork: true }), { ...policy, forks: "never" })).toContain("forks: never");
    expect(creationBlocker(desired({ fork: true }), policy)).toContain("/preview deploy");
    expect(creationBlocker(desired({ fork: true, approvedSha: SHA1 }), policy)).toBeUndefined();
    expect(creationBlocker(desired({ fork: true }), { ...policy, forks: "always" })).toBeUndefined();
    expect(creationBlocker(desired({ draft: true }), policy)).toContain("ready for review");
    expect(creationBlocker(desired({ draft: true }), { ...policy, drafts: "provision" })).toBeUndefined();
    expect(creationBlocker(desired(), { ...policy, trigger: "label" })).toContain("`preview`");
    expect(creationBlocker(desired({ labels: ["preview"] }), { ...policy, trigger: "label" })).toBeUndefined();
    expect(creationBlocker(desired({ draft: true, approvedSha: SHA1 }), { ...policy, trigger: "label" })).toBeUndefined();
  });

  it("blocks creation, and holds an existing fork environment on an unapproved head", () => {
    expect(plan({ status: "new", desired: desired({ fork: true }) })).toMatchObject({ kind: "block" });
    const held = plan({ status: "ready", checkpoints: allDone, desired: desired({ fork: true, approvedSha: SHA1, headSha: SHA2 }) });
    expect(held).toMatchObject({ kind: "hold" });
    expect(plan({ status: "ready", checkpoints: allDone, desired: desired({ draft: true }) })).toEqual({ kind: "idle" });
  });
});

describe("teardown", () => {
  it("wins when the PR is closed or the environment expired, and always finishes once started", () => {
    expect(teardownCause({ status: "ready", desired: desired({ open: false }), expiresAt: now + HOUR, now })).toBe("closed");
    expect(teardownCause({ status: "provisioning", desired: desired(), expiresAt: now, now })).toBe("expired");
    expect(teardownCause({ status: "tearing_down", desired: desired(), expiresAt: now + HOUR, now })).toBe("resume");
    expect(teardownCause({ status: "ready", desired: desired(), expiresAt: now + HOUR, now })).toBeUndefined();
    expect(teardownCause({ status: "deleted", desired: desired({ open: false }), expiresAt: now, now })).toBeUndefined();
  });

  it("undoes only what started, teardown commands first, then destroys in reverse order of setup", () => {
    expect(teardownActions(template, [], []).map((action) => action.id)).toEqual([]);
    expect(teardownActions(template, ["database", "build"], []).map((action) => action.id)).toEqual(["teardown:undeploy", "destroy:build", "destroy:database"]);
    expect(teardownActions(template, ["database", "build"], ["teardown:undeploy", "destroy:build"]).map((action) => action.id)).toEqual(["destroy:database"]);
  });
});

describe("assess", () => {
  const config = { repo: "octo/app", repoId: 1, installationId: 7, pr: 1, headSha: SHA1, headRef: "feature", fork: false, template: "default", ttlMs: 4 * HOUR, maxTtlMs: 8 * HOUR };
  const live = { status: "ready" as const, config, desired: desired(), expires_at: new Date(now + HOUR).toISOString() };
  const push = { type: "push" as const, at: "2026-01-01T11:30:00.000Z", repo: "octo/app", installationId: 7, headSha: SHA2, headRef: "feature", fork: false, draft: false, labels: [] };

  it("renews on a push and extends up to maxTtl, consuming what it folded", () => {
    const assessed = assess({ fields: live, inbox: [push, { type: "extend", at: "t", actor: "m", byMs: 10 * HOUR }] }, now);
    expect(assessed.expiresAt).toBe(now + 8 * HOUR);
    expect(assessed.events.map((event) => event.event)).toEqual(["renewed", "extended"]);
    expect(assessed.consumed).toBe(2);
    expect(assessed.teardown).toBeUndefined();
  });

  it("lets a close in the inbox win over a push in the same batch", () => {
    const assessed = assess({ fields: live, inbox: [push, { type: "close", at: "2026-01-01T11:40:00.000Z", reason: "closed" }] }, now);
    expect(assessed.teardown).toBe("closed");
  });
});

describe("plan", () => {
  const settings: EnvSettings = { templateName: "default", template, ttlMs: 4 * HOUR, policy, limits: { perRepo: 5, global: 50 } } as EnvSettings;
  const key = { repoId: 1, pr: 1 };
  const expires = new Date(now + 10 * HOUR).toISOString();
  const live = { status: "ready" as const, desired: desired(), expires_at: expires, checkpoints: allDone, artifacts: { deployments: {}, outputs: {} } };

  function input(fields: PlanInput["fields"], inbox: Parameters<typeof assess>[0]["inbox"] = [], verdict: PlanInput["settings"] = { ok: true, settings }): PlanInput {
    const assessment = assess({ fields, inbox }, now);
    return { key, fields, assessment, settings: verdict, now };
  }

  it("tears down what was made, and deletes straight away what never was", () => {
    const close = { type: "close" as const, at: "2026-01-01T11:40:00.000Z", reason: "closed" };
    const started = { ...live, artifacts: { deployments: {}, outputs: {}, progress: { started: ["database"], tornDown: [] } } };
    expect(planAction(input(started, [close]))).toMatchObject({ kind: "tear-down", desired: { open: false } });
    expect(planAction(input({ status: "pending", desired: desired() }, [close]))).toMatchObject({ kind: "delete", desired: { open: false } });
    const expired = { ...started, expires_at: new Date(now - 1).toISOString() };
    expect(planAction(input(expired))).toMatchObject({ kind: "tear-down", desired: { open: false, closeReason: "expired" } });
  });

  it("keeps a tombstone or an environment nothing names yet, and refreshes it only when it exists", () => {
    expect(planAction(input({ status: "deleted", desired: desired({ open: false }) }, [], undefined))).toEqual({ kind: "keep", desired: desired({ open: false }), refresh: false });
    expect(planAction(input({}, [], undefined))).toEqual({ kind: "keep", desired: undefined, refresh: false });
  });

  it("refuses with the reason when there are no settings to set up with", () => {
    expect(planAction(input(live, [], { ok: false, reason: "invalid" }))).toEqual({ kind: "refuse", reason: "invalid" });
  });

  it("carries what every setup commit writes, and rests an idle environment until its warning", () => {
    const action = planAction(input(live));
    expect(action).toMatchObject({ kind: "idle", base: { expiresAt: now + 10 * HOUR, config: { template: "default", ttlMs: 4 * HOUR } }, refresh: false });
    expect(action.kind === "idle" && action.idleDueAt).toBe(now + 9 * HOUR);
    expect(planAction(input({ ...live, status: "provisioning" }))).toMatchObject({ kind: "go-ready" });
  });
});

describe("the retry policy", () => {
  const policy: RetryPolicy = { ...DEFAULT_BACKOFF, errorRetryMs: DEFAULT_ERROR_RETRY_MS };
  const target = { sha: SHA1, generation: 0 };
  const noJitter = () => 0;

  it("keeps today's numbers: 4 attempts, 5 s doubling up to 5 min less up to half, 30 s after an unexpected error", () => {
    expect(policy).toEqual({ maxAttempts: 4, baseDelayMs: 5_000, maxDelayMs: 300_000, jitter: 0.5, errorRetryMs: 30_000 });
    expect(errorRetryAt(policy, now)).toBe(now + 30_000);
  });

  it("retries a failing step with backoff, counting failures per head, and gives up after the last attempt or at once on a terminal error", () => {
    const first = planStepFailure({ step: "build", target, progress: noProgress, terminal: false, policy, now, random: noJitter });
    expect(first).toEqual({ attempts: 1, nextAt: now + 5_000 });
    const retry = { action: "build", sha: SHA1, attempts: 2, nextAt: now };
    expect(planStepFailure({ step: "build", target, progress: { ...noProgress, retry }, terminal: false, policy, now, random: noJitter })).toEqual({ attempts: 3, nextAt: now + 20_000 });
    expect(planStepFailure({ step: "build", target: { sha: SHA2, generation: 0 }, progress: { ...noProgress, retry }, terminal: false, policy, now, random: noJitter })).toEqual({ attempts: 1, nextAt: now + 5_000 });
    expect(planStepFailure({ step: "build", target, progress: { ...noProgress, retry: { ...retry, attempts: 3 } }, terminal: false, policy, now, random: noJitter })).toEqual({ attempts: 4, nextAt: undefined });
    expect(planStepFailure({ step: "build", target, progress: noProgress, terminal: true, policy, now, random: noJitter })).toEqual({ attempts: 1, nextAt: undefined });
  });

  it("retries a teardown action for as long as it takes, and waits out its backoff", () => {
    expect(planTeardownFailure({ attempts: 9, policy, now, random: noJitter })).toEqual({ attempts: 10, nextAt: now + 300_000 });
    const progress = { started: ["database"], tornDown: ["teardown:undeploy"], retry: { action: "destroy:database", sha: SHA1, attempts: 2, nextAt: now + 10 } };
    expect(planTeardownStep({ undo: template, progress, now })).toEqual({ kind: "wait", until: now + 10 });
    expect(planTeardownStep({ undo: template, progress, now: now + 10 })).toMatchObject({ kind: "run", action: { id: "destroy:database" }, attempts: 2 });
    expect(planTeardownStep({ undo: template, progress: { ...progress, tornDown: [...progress.tornDown, "destroy:database"] }, now })).toEqual({ kind: "finish" });
  });
});
