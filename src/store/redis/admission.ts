import type { EnvKey } from "../../lifecycle/environment.js";
import { ADMISSION_WAKE_LIMIT, GLOBAL_MEMBER_REPO_ID_LUA, globalMember, type Keys } from "../keys.js";
import type { Admission, AdmissionLimits } from "../../lifecycle/state-store.js";
import type { RedisClient } from "./connection.js";
import { asNumber, execAll } from "./replies.js";
import { callScript } from "./scripts.js";

/**
 * StateStore's admission methods: one script each over the three `{global}`
 * admission keys, so counting is atomic across replicas. The keys get
 * `ttlMs` again on every write: they are derived (the garbage collector
 * rebuilds them from the statuses), and the TTL only keeps them from
 * outliving a deployment that stopped using them.
 */
export function admission(client: RedisClient, keys: Keys, ttlMs: number) {
  const admissionKeys = [keys.globalActive(), keys.globalQueue(), keys.globalActivePerRepo()];
  return {
    async admit(key: EnvKey, arrivalAt: number, limits: AdmissionLimits): Promise<Admission> {
      return callScript(client, "admit", admissionKeys, [globalMember(key), arrivalAt, limits.perRepo, limits.global, ttlMs, GLOBAL_MEMBER_REPO_ID_LUA]);
    },

    async release(key: EnvKey): Promise<EnvKey[]> {
      return callScript(client, "release-admission", admissionKeys, [globalMember(key), ttlMs, ADMISSION_WAKE_LIMIT, GLOBAL_MEMBER_REPO_ID_LUA]);
    },

    async counts(): Promise<{ active: number; queued: number }> {
      const [active, queued] = await execAll(client.pipeline().zcard(keys.globalActive()).zcard(keys.globalQueue()));
      return { active: asNumber(active), queued: asNumber(queued) };
    },
  };
}
