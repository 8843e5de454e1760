import type { Status } from "./environment.js";

/**
 * Which status may follow which (DESIGN §3, §4):
 *
 *   pending → queued → provisioning → ready | failed
 *   any live status → tearing_down → deleted
 *
 * A push or a redeploy takes `ready` or `failed` back to `provisioning`; a
 * reopen or a deploy revives a `deleted` tombstone. An environment that never
 * made anything (pending, queued) may go straight to `deleted`. A teardown,
 * once started, always finishes.
 */

/** The status of an environment the store has no status for. */
export type StatusOrNew = Status | "new";

const NEXT: Readonly<Record<StatusOrNew, readonly Status[]>> = {
  new: ["pending", "queued", "provisioning", "deleted"],
  pending: ["queued", "provisioning", "tearing_down", "deleted"],
  queued: ["pending", "provisioning", "tearing_down", "deleted"],
  provisioning: ["ready", "failed", "tearing_down"],
  ready: ["provisioning", "failed", "tearing_down"],
  failed: ["provisioning", "tearing_down"],
  tearing_down: ["deleted"],
  deleted: ["pending", "queued", "provisioning"],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: StatusOrNew,
    readonly to: Status,
  ) {
    super(`an environment cannot go from ${from} to ${to}`);
    this.name = "IllegalTransitionError";
  }
}

/** Staying in a status is always allowed. */
export function canTransition(from: StatusOrNew, to: Status): boolean {
  return from === to || NEXT[from].includes(to);
}

/** Throws on a transition the lifecycle does not have: a bug, never a user error. */
export function assertTransition(from: StatusOrNew, to: Status): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** Statuses in which an environment holds (or is getting) resources and a place in the active set. */
export function isProvisioned(status: StatusOrNew): boolean {
  return status === "provisioning" || status === "ready" || status === "failed" || status === "tearing_down";
}
