import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import type { Template } from "../config/template-schema.js";
import type { EnvKey } from "../lifecycle/environment.js";
import type { EnvironmentNotice, Notifier } from "../lifecycle/notifier.js";
import type { EnvSnapshot, StateStore } from "../store/state-store.js";
import { GitHubGoneError, type BotIdentity, type RepoTarget } from "./github-api.js";
import { cacheKey, emptyShownCache, publishEnvironment, type ShownIds } from "./publish-environment.js";
import { renderExpiryWarning } from "./render-comment.js";
import { reply } from "./replies.js";
import { createUpdateCoalescer, type UpdateCoalescer } from "./update-coalescer.js";

export interface GitHubNotifierDeps {
  /** Read when an update runs, so it always shows the latest state. */
  store: StateStore;
  /** Keeps the ids of what an update created (comment, deployment) with the environment. */
  recordShown(key: EnvKey, shown: ShownIds): Promise<void>;
  template(name: string): Template | undefined;
  octokitFor(installationId: number): Promise<ProbotOctokit>;
  bot: BotIdentity;
  log: Logger;
  now?: () => number;
  /** Most PRs updated at once. */
  concurrency?: number;
  /** How long a PR's update waits for more changes to fold in; default 1 s. */
  coalesceMs?: number;
}

/** Replies owed to a PR, gathered from the notices an update folds together. */
interface OwedReplies {
  /** The expiry the warning is for. */
  warnFor?: string;
  expired?: boolean;
}

/** Beyond this many PRs, the oldest remembered bodies are forgotten (they cost one read when next shown). */
const CACHE_LIMIT = 10_000;

/**
 * The lifecycle's window onto the PR. A notice only asks for an update; the
 * update runs soon after, renders the latest stored state, and notices that
 * arrive meanwhile for the same PR collapse into it (DESIGN §5), so a burst
 * of step changes costs one comment edit. The reconciler never waits on
 * GitHub's throttling. Replies are posted at most once: a process that dies
 * with one owed does not post it.
 */
export class GitHubNotifier implements Notifier {
  private readonly coalescer: UpdateCoalescer;
  private readonly owed = new Map<string, OwedReplies>();
  private readonly cache = emptyShownCache();
  private readonly now: () => number;

  constructor(private readonly deps: GitHubNotifierDeps) {
    this.now = deps.now ?? Date.now;
    this.coalescer = createUpdateCoalescer({
      concurrency: deps.concurrency ?? 4,
      delayMs: deps.coalesceMs ?? 1000,
      onError: (key, error) => deps.log.warn({ env: key, err: error }, "could not update the PR; its next change will"),
    });
  }

  async environmentChanged(notice: EnvironmentNotice): Promise<void> {
    const id = cacheKey(notice.key);
    const owed = this.owed.get(id) ?? {};
    for (const { event, detail } of notice.events) {
      if (event === "expiry_warning" && notice.fields.expires_at) owed.warnFor = notice.fields.expires_at;
      if (event === "deleted" && detail === "expired") owed.expired = true;
    }
    this.owed.set(id, owed);
    this.coalescer.request(id, () => this.update(notice.key, id));
  }

  /** Waits for every requested update; for shutdown and tests. */
  drain(): Promise<void> {
    return this.coalescer.drain();
  }

  private async update(key: EnvKey, id: string): Promise<void> {
    const owed = this.owed.get(id) ?? {};
    this.owed.delete(id);
    const snapshot = await this.deps.store.load(key);
    if (snapshot === null) return;
    const { fields } = snapshot;
    const desired = fields.desired;
    if (!desired?.repo || !desired.installationId) return;
    const [owner = "", repo = ""] = desired.repo.split("/");
    const target: RepoTarget = { octokit: await this.deps.octokitFor(desired.installationId), owner, repo };
    const log = this.deps.log.child({ repo: desired.repo, pr: key.pr, env: `pr-${key.pr}` });
    try {
      const template = fields.config ? this.deps.template(fields.config.template) : undefined;
      const shown = await publishEnvironment({ key, snapshot, target, template, bot: this.deps.bot, cache: this.cache, now: this.now(), log });
      if (shown.commentId !== undefined || shown.deployment !== undefined) await this.deps.recordShown(key, shown);
      await this.postReplies(key, target, snapshot.fields, owed);
      if (fields.status === "deleted") this.forget(id);
      this.forgetOldest();
    } catch (error) {
      if (!(error instanceof GitHubGoneError)) throw error;
      log.info({ gone: error.resource }, "the PR or its repository is gone; nothing to show");
    }
  }

  private async postReplies(key: EnvKey, target: RepoTarget, fields: EnvSnapshot["fields"], owed: OwedReplies): Promise<void> {
    const config = fields.config;
    if (owed.warnFor !== undefined && config && fields.status !== "deleted" && fields.expires_at === owed.warnFor) {
      const body = renderExpiryWarning({
        expiresAt: owed.warnFor,
        now: new Date(this.now()).toISOString(),
        ttlMs: config.ttlMs,
        maxTtlMs: config.maxTtlMs ?? config.ttlMs,
      });
      await reply({ ...target, issueNumber: key.pr, body });
    }
    if (owed.expired) {
      await reply({ ...target, issueNumber: key.pr, body: "⌛ This PR's preview environment expired and was torn down. `/preview deploy` creates a new one." });
    }
  }

  private forget(id: string): void {
    this.cache.comment.delete(id);
    for (const shaKey of this.cache.deployment.keys()) if (shaKey.startsWith(`${id}@`)) this.cache.deployment.delete(shaKey);
  }

  private forgetOldest(): void {
    for (const map of Object.values(this.cache) as Map<unknown, unknown>[]) {
      while (map.size > CACHE_LIMIT) map.delete(map.keys().next().value);
    }
  }
}
