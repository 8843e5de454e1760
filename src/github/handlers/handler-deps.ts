import type { Logger } from "pino";
import type { EnvKey } from "../../lifecycle/environment.js";
import type { Intent } from "../../lifecycle/intent.js";

/** What an event handler may do: record an intent (one store round trip), and find a repository's environments. */
export interface IntentRecorder {
  record(key: EnvKey, intent: Intent, deliveryId?: string): Promise<"recorded" | "duplicate">;
  listKeys(repoId: number): Promise<EnvKey[]>;
}

/** The parts of a Probot context a handler uses; tests may pass a plain object. */
export interface HandlerContext<P> {
  id: string;
  payload: P;
  log: Logger;
}
