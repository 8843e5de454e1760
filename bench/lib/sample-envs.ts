import { randomBytes, randomUUID } from "node:crypto";
import type { EnvKey, EventLogEntry } from "../../src/lifecycle/environment.js";
import type { Intent } from "../../src/lifecycle/intent.js";
import { DEFAULT_STATE_GRACE_MS, DEFAULT_TOMBSTONE_RETENTION_MS } from "../../src/lifecycle/ttl.js";
import { createSealer } from "../../src/lifecycle/sealing.js";
import type { EnvFields, StateStore } from "../../src/lifecycle/state-store.js";

/**
 * A ready environment as the reconciler leaves one after its first setup,
 * written through the real adapter exactly as a webhook and the reconciler
 * write it: `recordIntent` (the opening webhook, with its delivery id),
 * then, under the lease, one `commit` that folds the intent in and writes
 * every field, the event log and the next due time. The values have the
 * shapes and sizes a real one has: a two-step template (a postgres database
 * whose URL and password are sealed with the real sealer, then a deploy with
 * a URL), one deployment, a comment id, six log entries. As the engine
 * writes them: checkpoints hold each step's sha and outputs (no time, no
 * redeploy generation while it is 0), `artifacts` the URL, the steps'
 * non-secret outputs (DESIGN §3), the comment and the head's deployment with
 * the reconciler's progress, and the delivery id goes to the environment's
 * `deliveries` key.
 */

const HOUR = 3_600_000;
const TTL_MS = 24 * HOUR;
const sealer = createSealer("bench-secret-key-material-of-32-characters");

export interface SampleEnv {
  intent: Intent;
  set: Partial<EnvFields>;
  events: EventLogEntry[];
  /** The next time the reconciler looks at it: the expiry warning, an hour before expiry. */
  dueAt: number;
}

export function readyEnvironment(key: EnvKey, now: number): SampleEnv {
  const iso = (ms: number) => new Date(ms).toISOString();
  const repo = `acme-corp/service-${key.repoId}`;
  const headSha = randomBytes(20).toString("hex");
  const headRef = `feature/PROJ-${1000 + key.pr}-update-checkout-flow`;
  const installationId = 31_415_926;
  const openedAt = iso(now - 90_000);
  const expiresAt = now + TTL_MS;
  const name = `eph_${key.repoId}_pr${key.pr}`;
  const password = randomBytes(24).toString("base64url");
  const url = `https://pr-${key.pr}-${key.repoId}.preview.acme.dev`;
  const database = { database: name, role: name, host: "db.internal.acme.dev", port: "5432" };
  const facts = { repo, installationId, headSha, headRef, fork: false, draft: false, labels: ["preview"] };
  return {
    intent: { type: "open", at: openedAt, ...facts },
    set: {
      status: "ready",
      config: { repo, repoId: key.repoId, installationId, pr: key.pr, headSha, headRef, fork: false, template: "default", ttlMs: TTL_MS, maxTtlMs: 7 * 24 * HOUR },
      desired: { open: true, openAt: openedAt, ...facts, headAt: openedAt, factsAt: openedAt, redeployGeneration: 0 },
      expires_at: iso(expiresAt),
      artifacts: {
        url,
        commentId: 2_000_000_000 + key.pr,
        deployments: { [headSha]: 1_500_000_000 + key.pr },
        outputs: { database, deploy: { url } },
        progress: { arrivalAt: now - 60_000, started: ["database", "deploy"], tornDown: [] },
      },
      checkpoints: {
        database: {
          sha: headSha,
          outputs: {
            ...database,
            url: sealer.seal(`postgres://${name}:${password}@db.internal.acme.dev:5432/${name}`),
            password: sealer.seal(password),
          },
        },
        deploy: { sha: headSha, outputs: { url } },
      },
    },
    events: [
      { at: iso(now - 60_000), event: "provisioning" },
      { at: iso(now - 59_000), event: "step_started", detail: "database" },
      { at: iso(now - 40_000), event: "step_completed", detail: "database" },
      { at: iso(now - 39_000), event: "step_started", detail: "deploy" },
      { at: iso(now - 5_000), event: "step_completed", detail: "deploy" },
      { at: iso(now - 4_000), event: "ready", detail: url },
    ],
    dueAt: expiresAt - HOUR,
  };
}

/** Writes one ready environment through the adapter, as the webhook and the reconciler would. */
export async function writeReadyEnvironment(store: StateStore, key: EnvKey, now: number): Promise<void> {
  const env = readyEnvironment(key, now);
  await store.recordIntent(key, env.intent, { deliveryId: randomUUID(), keyTtlMs: DEFAULT_TOMBSTONE_RETENTION_MS });
  const owner = `bench-${randomUUID()}`;
  if (!(await store.acquireLease(key, "lease", owner, 30_000))) throw new Error(`could not take the lease of ${key.repoId}/${key.pr}`);
  const committed = await store.commit(key, { name: "lease", owner }, {
    set: env.set,
    consumed: 1,
    events: env.events,
    dueAt: env.dueAt,
    keyTtlMs: TTL_MS + DEFAULT_STATE_GRACE_MS,
  });
  if (committed !== "committed") throw new Error(`commit of ${key.repoId}/${key.pr} was fenced`);
  await store.releaseLease(key, "lease", owner);
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
