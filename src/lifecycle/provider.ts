import type { EnvKey } from "./environment.js";

/**
 * The port between the reconciler and the real things an environment is made
 * of. A template's `steps` are set up in order with `create` and undone in
 * reverse with `destroy`; its `teardown` list holds plain commands, which the
 * reconciler runs with `create` in phase `teardown` (their outputs are
 * ignored). Both calls are idempotent ensures, so a step interrupted by a
 * crash is simply called again.
 */

/**
 * One step of a template, as the operator config parses it. Kept minimal and
 * structural so the config schema's own type is assignable to it.
 */
export interface StepSpec {
  readonly name: string;
  /** A command for `/bin/sh -c`, in the operator config file's directory. */
  readonly run?: string | undefined;
  /** A built-in provider, such as `postgres`. */
  readonly uses?: string | undefined;
  /** The provider's parameters; each provider validates its own. */
  readonly with?: Readonly<Record<string, unknown>> | undefined;
  readonly timeoutMs?: number | undefined;
  /** Extra variables for a `run` step, from the operator (trusted). */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** Step outputs by step name, then output name. */
export type OutputsByStep = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** What providers log through: a pino child logger with the environment bound fits. */
export interface ProviderLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export type Phase = "setup" | "teardown";

export interface StepContext {
  readonly repo: string;
  readonly repoId: number;
  readonly pr: number;
  readonly sha: string;
  readonly ref: string;
  /** ISO 8601 UTC. */
  readonly expiresAt: string;
  readonly phase: Phase;
  /** Non-secret outputs of earlier steps. */
  readonly outputs: OutputsByStep;
  /**
   * Secret outputs of earlier steps, already unsealed. Kept apart from
   * `outputs` so a provider can hide their values in anything it reports.
   */
  readonly secrets: OutputsByStep;
  /** Aborted when teardown wins: a running step stops promptly and rejects with `StepAbortedError`. */
  readonly signal: AbortSignal;
  readonly log: ProviderLogger;
}

export interface StepOutcome {
  readonly outputs: Readonly<Record<string, string>>;
  /** Sealed by the reconciler before they are stored; never shown or logged. */
  readonly secrets: Readonly<Record<string, string>>;
}

export interface Provider {
  /** `run` for steps with `run:`, otherwise the step's `uses:`. */
  readonly name: string;
  /** Ensures the step's resource exists and returns its outputs; a re-run after a crash converges. */
  create(step: StepSpec, ctx: StepContext): Promise<StepOutcome>;
  /** Ensures the step's resource is gone; destroying what is already gone succeeds. */
  destroy(step: StepSpec, ctx: StepContext): Promise<void>;
}

/** A real resource a provider made, as the orphan audit sees it. */
export interface OwnedResource {
  readonly provider: string;
  /** Provider-specific, e.g. `database` or `role`. */
  readonly kind: string;
  readonly name: string;
  /** The environment the name says it belongs to; null when it carries the prefix but cannot be parsed. */
  readonly env: EnvKey | null;
}

/**
 * A provider whose resources the orphan audit can find and remove. Separate
 * from `Provider` because `run` steps leave nothing that can be listed.
 */
export interface ResourceOwner {
  readonly name: string;
  /** Every resource carrying this owner's prefix, in the order they must be removed. */
  listOwned(): Promise<OwnedResource[]>;
  /** Removes one resource `listOwned` returned; refuses anything whose name does not parse to an environment. */
  removeOwned(resource: OwnedResource): Promise<void>;
}

/**
 * A step that did not complete. `terminal` failures (a bad parameter, a
 * missing template database) fail the environment at once; the others are
 * retried with backoff.
 */
export class StepFailedError extends Error {
  readonly step: string;
  readonly terminal: boolean;
  /** The end of the step's output for the PR, secrets already masked; empty when there is none. */
  readonly outputTail: string;
  readonly exitCode: number | undefined;

  constructor(params: {
    step: string;
    reason: string;
    terminal: boolean;
    outputTail?: string;
    exitCode?: number;
    cause?: unknown;
  }) {
    super(`step "${params.step}" ${params.reason}`, { cause: params.cause });
    this.name = "StepFailedError";
    this.step = params.step;
    this.terminal = params.terminal;
    this.outputTail = params.outputTail ?? "";
    this.exitCode = params.exitCode;
  }
}

/** The step was stopped because its signal was aborted (teardown won); not a failure. */
export class StepAbortedError extends Error {
  readonly step: string;

  constructor(step: string) {
    super(`step "${step}" was stopped: the environment is being torn down`);
    this.name = "AbortError";
    this.step = step;
  }
}

export function throwIfAborted(step: StepSpec, signal: AbortSignal): void {
  if (signal.aborted) throw new StepAbortedError(step.name);
}

/** The provider that runs `step`; an unknown `uses:` is a terminal configuration error. */
export function providerFor(step: StepSpec, providers: readonly Provider[]): Provider {
  const name = step.run !== undefined ? "run" : step.uses;
  const provider = providers.find((candidate) => candidate.name === name);
  if (provider) return provider;
  throw new StepFailedError({
    step: step.name,
    reason: name === undefined ? "has neither `run` nor `uses`" : `uses unknown provider "${name}"`,
    terminal: true,
  });
}
