import type { StateStore } from "../../lifecycle/state-store.js";
import type { EnvKey } from "../../lifecycle/environment.js";

/** Replies to commenters without write access, per PR: one per this window (DESIGN §6). */
export const OUTSIDER_REPLY_WINDOW_MS = 10 * 60_000;

/**
 * Takes the PR's reply budget for commenters without write access: true for
 * one caller per window, across every replica (the store claims it
 * atomically), so outsiders cannot make the App talk on a PR more than that.
 */
export type ReplyBudget = (key: EnvKey, commentId: number) => Promise<boolean>;

export function storeReplyBudget(store: Pick<StateStore, "claimMeta">, windowMs = OUTSIDER_REPLY_WINDOW_MS): ReplyBudget {
  return (key, commentId) => store.claimMeta(`reply-budget:${key.repoId}:pr-${key.pr}`, String(commentId), windowMs);
}
