import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { EnvSnapshot } from "../../src/lifecycle/state-store.js";
import type { FakeComment } from "../helpers/fake-github.js";
import { prCommentEvent, pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import type { SurfaceWorld } from "./surface-world.js";

/** The PR as GitHub has it when an event is sent. */
export interface PrOptions {
  draft?: boolean;
  labels?: string[];
  /** On GitHub now; a delivery that arrives late describes the PR as it was (open). Default: open, or closed for `closed`. */
  state?: "open" | "closed";
}

type PrAction = Parameters<typeof pullRequestEvent>[1];

/**
 * One PR of a surface world, driven through real webhook payloads
 * (@octokit/webhooks-examples, adapted): what it sends, and what GitHub
 * (sticky comment, replies, reactions, deployments), the store and the
 * setup step's log show of it.
 */
export class PrHandle {
  readonly key: EnvKey;
  readonly fullName: string;

  constructor(
    private readonly world: SurfaceWorld,
    readonly scenario: PrScenario,
  ) {
    this.key = { repoId: scenario.repoId, pr: scenario.pr };
    this.fullName = `${scenario.owner}/${scenario.name}`;
  }

  /** Updates the fake's PR to match, then delivers `pull_request.<action>`; `deliveryId` repeats a delivery. */
  async event(action: PrAction, sha: string, options: PrOptions & { deliveryId?: string; at?: Date } = {}): Promise<void> {
    const { gh } = this.world;
    const state = action === "closed" ? "closed" : (options.state ?? "open");
    const fork = this.scenario.forkOwner && `${this.scenario.forkOwner}/${this.scenario.name}`;
    gh.setPull(this.fullName, {
      number: this.scenario.pr,
      state,
      head: { sha, ref: "feature", ...(fork && { repo: fork }) },
      draft: options.draft ?? false,
      labels: options.labels ?? [],
    });
    const payload = pullRequestEvent(this.scenario, action, { ...options, sha, at: options.at ?? this.world.tick() });
    await this.world.send("pull_request", payload, options.deliveryId);
  }

  /**
   * A person's comment on the PR, delivered as `issue_comment.created`; a
   * command is answered by a worker after the delivery, so this waits until
   * it is carried out (see `carriedOut`).
   */
  async comment(body: string, login: string, at = this.world.tick()): Promise<FakeComment> {
    const comment = this.world.gh.addComment(this.fullName, this.scenario.pr, { body, user: login });
    await this.world.send("issue_comment", prCommentEvent(this.scenario, body, { login, at, id: comment.id }));
    await this.carriedOut(comment);
    return comment;
  }

  /** Waits until the command in `comment` is answered (reacted to) and out of the inbox (its effects folded). */
  carriedOut(comment: FakeComment): Promise<void> {
    return this.world.until(async () => {
      const pending = (await this.snapshot())?.inbox.some((intent) => intent.type === "command" && intent.commentId === comment.id) ?? false;
      return !pending && this.reactionsOn(comment).length > 0;
    });
  }

  snapshot(): Promise<EnvSnapshot | null> {
    return this.world.app.store.load(this.key);
  }

  async status(): Promise<string | undefined> {
    return (await this.snapshot())?.fields.status;
  }

  /** Waits until the store has the environment in `status`. */
  waitForStatus(status: string): Promise<void> {
    return this.world.until(async () => (await this.status()) === status);
  }

  /**
   * Waits until the environment is `status` and the PR shows it: the ids of
   * the sticky comment (and of the head's deployment) are back in the store,
   * nothing is left in the inbox, and GitHub has the deployment statuses that
   * go with it. Past this, nothing more happens on its own, so a test can
   * compare before and after.
   */
  waitForShown(status: "pending" | "ready" | "deleted"): Promise<void> {
    return this.world.until(async () => {
      const snapshot = await this.snapshot();
      const fields = snapshot?.fields;
      const shown = snapshot?.shown;
      if (fields?.status !== status || snapshot?.inbox.length !== 0 || shown?.comment === undefined) return false;
      const deployments = this.world.gh.deploymentsOf(this.fullName, `preview/pr-${this.scenario.pr}`);
      const lastState = (sha: string | undefined) => deployments.find((deployment) => deployment.sha === sha)?.statuses.at(-1)?.state;
      if (status === "ready") return shown.deployments.some(({ sha }) => sha === fields.desired?.headSha) && lastState(fields.desired?.headSha) === "success";
      if (status === "deleted") return this.sticky()?.body.includes("Preview environment: torn down") === true && deployments.every((deployment) => lastState(deployment.sha) === "inactive");
      return true;
    });
  }

  async expiresAt(): Promise<number> {
    return Date.parse((await this.snapshot())?.fields.expires_at ?? "");
  }

  /** Our bot's comments on the PR, oldest first. */
  botComments(): FakeComment[] {
    return this.world.gh.commentsOn(this.fullName, this.scenario.pr).filter((comment) => comment.user.login === this.world.gh.bot.login);
  }

  /** The sticky comment: ours, first line the marker. */
  sticky(): FakeComment | undefined {
    return this.botComments().find((comment) => comment.body.startsWith(`<!-- ephemera:env:pr-${this.scenario.pr} -->`));
  }

  /** Our other comments: replies to commands, warnings. */
  replies(): FakeComment[] {
    const sticky = this.sticky();
    return this.botComments().filter((comment) => comment !== sticky);
  }

  reactionsOn(comment: FakeComment): string[] {
    return this.world.gh.state.reactionsOn(comment.id).map((reaction) => reaction.content);
  }

  /** Runs of the setup step for this PR, as `steps.log` has them: one sha per run. */
  stepRuns(): string[] {
    const prefix = `${this.fullName}#${this.scenario.pr} `;
    return this.world.stepLog().flatMap((line) => (line.startsWith(prefix) ? [line.slice(prefix.length)] : []));
  }
}
