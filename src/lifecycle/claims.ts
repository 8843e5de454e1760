import { templateNamed, type OperatorConfig } from "../config/operator-config.js";
import type { StateStore } from "./state-store.js";
import type { EnvKey } from "./environment.js";

/**
 * What the orphan audit asks the store (see providers/audit.ts), each
 * answer "may this be removed?" erring towards no.
 */
export interface AuditClaims {
  /**
   * Whether an environment may own resources now or soon: anything but a
   * tombstone, and a tombstone with intents waiting (a reopen about to
   * recreate it).
   */
  isClaimed(env: EnvKey): Promise<boolean>;
  /**
   * Whether the store holds a live environment whose template has a step the
   * provider carries out (`run`, or the step's `uses`): with none, every
   * resource of that provider looks orphaned, which is what an emptied store
   * or a wrong key prefix looks like.
   */
  inUse(provider: string): Promise<boolean>;
}

export function auditClaims(store: Pick<StateStore, "load" | "listKeys">, operator: OperatorConfig): AuditClaims {
  return {
    async isClaimed(env) {
      const snapshot = await store.load(env);
      if (snapshot === null) return false;
      return snapshot.fields.status !== "deleted" || snapshot.inbox.length > 0;
    },
    async inUse(provider) {
      for (const key of await store.listKeys()) {
        const fields = (await store.load(key))?.fields;
        if (fields?.config === undefined || fields.status === undefined || fields.status === "deleted") continue;
        const steps = fields.config.undo?.steps ?? templateNamed(operator, fields.config.template)?.steps ?? [];
        if (steps.some((step) => (step.run !== undefined ? "run" : step.uses) === provider)) return true;
      }
      return false;
    },
  };
}
