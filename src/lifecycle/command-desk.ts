import type { Logger } from "pino";
import type { EnvFields, EnvSnapshot } from "./state-store.js";
import type { DesiredState } from "./desired.js";
import type { EnvKey } from "./environment.js";
import { foldIntents } from "./fold.js";
import type { CommandIntent, Intent } from "./intent.js";

/**
 * Slash-commands are recorded by the webhook handler as they were given
 * (one store round trip, so the delivery is answered at once whatever
 * GitHub's latency) and carried out here, by the worker that holds the
 * environment, before its inbox is folded.
 */

/** What a command is judged against: the environment as its inbox stood when the command came. */
export interface CommandScene {
  key: EnvKey;
  /** The desired state with the intents recorded before the command folded in. */
  desired: DesiredState | undefined;
  fields: Partial<EnvFields>;
}

/** The port the GitHub layer implements: who gave the command, and the answer on the PR. */
export interface CommandDesk {
  /**
   * Carries out one recorded command: checks who gave it, answers it on the
   * PR (a reaction; at most one reply, within the budget for commenters
   * without write access) and returns the intents it makes, which are folded
   * in its place. A worker that dies before that fold is committed leaves
   * the command in the inbox, and the next one calls this again: the
   * reaction is idempotent and the reply is not given twice. Throws when
   * GitHub cannot say who may do what: the command stays and is tried again.
   */
  carryOut(command: CommandIntent, scene: CommandScene): Promise<Intent[]>;
}

/**
 * The snapshot with each recorded command replaced by the intents it makes.
 * Without a desk (a CLI without the App's credentials) nothing can answer a
 * command: the environment is left, commands and all, to a worker that can.
 */
export async function carryOutCommands(snapshot: EnvSnapshot, params: { desk: CommandDesk | undefined; now: number; log: Logger }): Promise<EnvSnapshot> {
  const { desk, now, log } = params;
  if (!snapshot.inbox.some((intent) => intent.type === "command")) return snapshot;
  if (desk === undefined) throw new Error("a slash-command waits for a worker that can reach GitHub (set APP_ID and PRIVATE_KEY here, or let the server run)");
  const inbox: Intent[] = [];
  for (const intent of snapshot.inbox) {
    if (intent.type !== "command") {
      inbox.push(intent);
      continue;
    }
    const { desired } = foldIntents(snapshot.fields.desired, inbox);
    try {
      inbox.push(...(await desk.carryOut(intent, { key: snapshot.key, desired, fields: snapshot.fields })));
    } catch (error) {
      // Retried with the environment; one that keeps failing for long is given up, so it cannot hold up a close for ever.
      if (now - Date.parse(intent.at) < COMMAND_PATIENCE_MS) throw error;
      log.warn({ err: error, commentId: intent.commentId, deliveryId: intent.deliveryId }, "a command failed for an hour and is dropped; the commenter can give it again");
    }
  }
  return { ...snapshot, inbox };
}

/** How long a command that GitHub keeps failing is retried before it is dropped. */
export const COMMAND_PATIENCE_MS = 60 * 60_000;
