import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { ProbotOctokit } from "probot";
import type { Template } from "../config/template-schema.js";
import { envId, type EnvKey } from "../lifecycle/environment.js";
import type { EnvironmentNotice, Notifier } from "../lifecycle/notifier.js";
import type { EnvSnapshot, StateStore } from "../lifecycle/state-store.js";
import type { RepositoryScope } from "./installation-clients.js";
import { GitHubGoneError, type BotIdentity, type RepoTarget } from "./github-api.js";
import { ClaimBusyError, LostClaimError, withNotifyClaim } from "./notify-claim.js";
import { publishEnvironment, showsStaleStatus } from "./publish-environment.js";
import { renderExpiryWarning } from "./render-comment.js";
import { reply } from "./replies.js";
import { createUpdateCoalescer, type UpdateCoalescer } from "./update-coalescer.js";

export interface GitHubNotifierDeps {
  /** Read when an update runs, so it always shows the latest state; holds the claims and the record of what is shown. */
  store: StateStore;
  template(name: string): Template | undefined;
  /** A client whose token reaches the environment's repository (by id) alone. */
  octokitFor(scope: RepositoryScope): Promise<ProbotOctokit>;
  bot: BotIdentity;
  log: Logger;
  now?: () => number;
  /** This replica's claim token; default: host, pid and a random part. */
  owner?: string;
  /** How long a PR's claim lasts unrenewed (renewed before every write); default 30 s. */
  claimTtlMs?: number;
  /** How long an update waits for another replica's claim on the PR; default twice the TTL, so a dead holder's runs out. */
  claimWaitMs?: number;
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

/**
 * The lifecycle's window onto the PR. A notice only asks for an update; the
 * update runs soon after, renders the latest stored state, and notices that
 * arrive meanwhile for the same PR collapse into it (DESIGN §5), so a burst
 * of step changes costs one comment edit. Across replicas, an update holds
 * the PR's notify claim (notify-claim.ts): one writer per PR, which loads
 * the state after taking it. The reconciler never waits on GitHub's
 * throttling. Replies are posted at most once: a process that dies with
 * one owed does not post it.
 */
export class GitHubNotifier implements Notifier {
  private readonly coalescer: UpdateCoalescer;
  private readonly owed = new Map<string, OwedReplies>();
  private readonly now: () => number;
  private readonly owner: string;
  private readonly claimTtlMs: number;

  constructor(private readonly deps: GitHubNotifierDeps) {
    this.now = deps.now ?? Date.now;
    this.owner = deps.owner ?? `notifier:${hostname()}:${process.pid}:${randomUUID()}`;
    this.claimTtlMs = deps.claimTtlMs ?? 30_000;
    this.coalescer = createUpdateCoalescer({
      concurrency: deps.concurrency ?? 4,
      delayMs: deps.coalesceMs ?? 1000,
      onError: (key, error) => deps.log.warn({ env: key, err: error }, "could not update the PR; its next change will"),
    });
  }

  async environmentChanged(notice: EnvironmentNotice): Promise<void> {
    const id = `${notice.key.repoId}/${notice.key.pr}`;
    const owed = this.owed.get(id) ?? {};
    for (const { event, detail } of notice.events) {
      if (event === "expiry_warning" && notice.fields.expires_at) owed.warnFor = notice.fields.expires_at;
      if (event === "deleted" && detail === "expired") owed.expired = true;
    }
    this.owed.set(id, owed);
    this.coalescer.request(id, () => this.update(notice.key, id));
  }

  /**
   * Asks for an update of every environment the PR shows behind the store:
   * a torn-down one whose record does not say its deployments were all made
   * `inactive`, or a live one whose deployment status is not the one its
   * state wants (ready, failed…). A replica that died between a commit and
   * its update (the notice lived only in its memory) left them so. Run
   * periodically; returns how many it asked for.
   */
  async catchUp(): Promise<number> {
    let requested = 0;
    for (const key of await this.deps.store.listKeys()) {
      const snapshot = await this.deps.store.load(key);
      if (snapshot === null) continue;
      const behind = snapshot.fields.status === "deleted" ? !snapshot.shown?.inactive : showsStaleStatus(snapshot);
      if (!behind) continue;
      const id = `${key.repoId}/${key.pr}`;
      this.coalescer.request(id, () => this.update(key, id));
      requested++;
    }
    return requested;
  }

  /** Waits for every requested update; for shutdown and tests. */
  drain(): Promise<void> {
    return this.coalescer.drain();
  }

  /** `again`: this is the one retry of an update that lost its claim. */
  private async update(key: EnvKey, id: string, again = false): Promise<void> {
    const owed = this.owed.get(id) ?? {};
    this.owed.delete(id);
    const log = this.deps.log.child({ env: envId(key.pr), repoId: key.repoId, pr: key.pr });
    const claim = { store: this.deps.store, key, owner: this.owner, ttlMs: this.claimTtlMs, waitMs: this.deps.claimWaitMs ?? 2 * this.claimTtlMs };
    try {
      await withNotifyClaim(claim, async (held) => {
        const snapshot = await this.deps.store.load(key);
        const desired = snapshot?.fields.desired;
        if (!snapshot || !desired?.repo || !desired.installationId) return;
        const [owner = "", repo = ""] = desired.repo.split("/");
        const octokit = await this.deps.octokitFor({ installationId: desired.installationId, repoId: key.repoId });
        const target: RepoTarget = { octokit, owner, repo, beforeWrite: () => held.beforeWrite() };
        const template = snapshot.fields.config ? this.deps.template(snapshot.fields.config.template) : undefined;
        await publishEnvironment({ key, snapshot, target, template, bot: this.deps.bot, claim: held, now: this.now(), log });
        await this.postReplies(key, target, snapshot.fields, owed);
      });
    } catch (error) {
      if (error instanceof GitHubGoneError) log.info({ gone: error.resource }, "the PR or its repository is gone; nothing to show");
      else if (error instanceof ClaimBusyError) log.warn({ err: error }, "another replica is updating the PR; it shows the latest state");
      else if (!(error instanceof LostClaimError)) throw error;
      else if (again) log.warn({ err: error }, "lost the claim on the PR twice; its next change updates it");
      else {
        // Stalled past the claim's TTL: whoever took it over may have loaded an older state than ours, so look once more after it.
        log.info({ err: error }, "lost the claim on the PR mid-update; updating it again");
        this.coalescer.request(id, () => this.update(key, id, true));
      }
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
}
