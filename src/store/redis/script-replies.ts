import { z } from "zod";
import type { EnvKey } from "../../lifecycle/environment.js";
import type { SeenReplica } from "../../lifecycle/replicas.js";
import type { Admission, CommitResult } from "../../lifecycle/state-store.js";
import { toIso } from "../../lifecycle/ttl.js";
import { parseEnvId, parseGlobalMember } from "../keys.js";
import { asNumber, asScore, asStrings, scoredMembers } from "./replies.js";

/**
 * What each Lua script answers, decoded into the value its caller works
 * with, in one place: a script's return codes (its header's "Returns") are
 * read here and nowhere else. Keyed by script name, so a script without a
 * decoder has no name to be called by (see scripts.ts).
 */

/** A script answered what its decoder does not know: the script and this code disagree. */
export class UnexpectedScriptReplyError extends Error {
  constructor(
    readonly script: string,
    readonly reply: unknown,
    options?: ErrorOptions,
  ) {
    super(`Redis script ${script} answered ${JSON.stringify(reply)}, which is none of the replies its header lists`, options);
    this.name = "UnexpectedScriptReplyError";
  }
}

/** 1 or 0, as the scripts answer yes or no. */
function yes(reply: unknown): boolean {
  if (reply !== 0 && reply !== 1) throw new TypeError("expected 1 or 0");
  return reply === 1;
}

/** The due set's state a claim leaves, and what it took, oldest first. */
interface ClaimDueReply {
  /** The due set's TTL in ms (-2 once it no longer exists). */
  ttlMs: number;
  /** Its earliest score after the claim; null when it is empty. */
  min: number | null;
  taken: Array<{ pr: number; score: number }>;
}

/** A replica registry entry as register-replica-1.lua writes it (times in ms). */
const registryEntrySchema = z.object({ owner: z.string(), protocol: z.number().int(), startedAt: z.string(), lastSeenAt: z.number() });

export const SCRIPT_REPLIES = {
  "record-intent": (reply: unknown): "recorded" | "duplicate" => (yes(reply) ? "recorded" : "duplicate"),
  /** Whether the owner holds the lease now. */
  "hold-lease": (reply: unknown): boolean => yes(reply),
  /** Whether the owner held it (and so released it). */
  "release-lease": (reply: unknown): boolean => yes(reply),
  /** Fenced, or committed with the earliest score left in the repository's due set. */
  commit: (reply: unknown): { result: "fenced" } | { result: "committed"; min: number | null } => {
    if (Array.isArray(reply) && reply.length === 1 && reply[0] === 0) return { result: "fenced" };
    if (Array.isArray(reply) && reply.length === 2 && reply[0] === 1) return { result: "committed", min: asScore(reply[1]) };
    throw new TypeError("expected {0} or {1, min}");
  },
  /** Fenced, or written. */
  "record-shown": (reply: unknown): CommitResult => (yes(reply) ? "committed" : "fenced"),
  "claim-due": (reply: unknown): ClaimDueReply => {
    if (!Array.isArray(reply) || reply.length < 2) throw new TypeError("expected {pttl, min, member, score, ...}");
    const [ttlMs, min, ...taken] = reply as unknown[];
    return {
      ttlMs: asNumber(ttlMs),
      min: asScore(min),
      taken: scoredMembers(asStrings(taken)).map(({ member, score }) => ({ pr: parseEnvId(member), score })),
    };
  },
  /** The TTL in ms the due set keeps at least. */
  "mark-due": (reply: unknown): number => asNumber(reply),
  /** Whether it was removed (no key of it was left). */
  "forget-env": (reply: unknown): boolean => yes(reply),
  admit: (reply: unknown): Admission => {
    const [admitted, position] = Array.isArray(reply) && reply.length === 2 ? reply : [];
    if (admitted === 1 && position === 0) return { admitted: true, position: 0 };
    if (admitted === 0 && typeof position === "number" && position > 0) return { admitted: false, position };
    throw new TypeError("expected {1, 0} or {0, position}");
  },
  /** The first waiters, oldest first, to wake. */
  "release-admission": (reply: unknown): EnvKey[] => asStrings(reply).map(parseGlobalMember),
  /** The ms to wait before acting. */
  "take-token": (reply: unknown): number => asNumber(reply),
  "register-replica": (reply: unknown): void => {
    if (reply !== 1) throw new TypeError("expected 1");
  },
  /** The live entries, oldest start first. */
  "list-replicas": (reply: unknown): SeenReplica[] =>
    asStrings(reply)
      .map((raw) => {
        const { owner, protocol, startedAt, lastSeenAt } = registryEntrySchema.parse(JSON.parse(raw));
        return { owner, protocol, startedAt, lastSeenAt: toIso(lastSeenAt) };
      })
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.owner.localeCompare(b.owner)),
};

export type ScriptName = keyof typeof SCRIPT_REPLIES;
export type ScriptReply<Name extends ScriptName> = ReturnType<(typeof SCRIPT_REPLIES)[Name]>;

/** A script's reply as its caller's value; an UnexpectedScriptReplyError for anything its header does not list. */
export function decodeReply<Name extends ScriptName>(script: Name, reply: unknown): ScriptReply<Name> {
  try {
    return SCRIPT_REPLIES[script](reply) as ScriptReply<Name>;
  } catch (error) {
    throw new UnexpectedScriptReplyError(script, reply, { cause: error });
  }
}
