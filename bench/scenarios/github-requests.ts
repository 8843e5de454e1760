import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { RecordedRequest } from "../../test/helpers/fake-github.js";
import { prCommentEvent, pullRequestEvent, type PrScenario } from "../../test/helpers/pr-events.js";
import { waitFor } from "../../test/helpers/wait-for.js";
import { deliver } from "../../test/helpers/webhooks.js";
import type { BenchContext, ScenarioResult } from "../lib/context.js";
import { figure } from "../lib/figures.js";
import { githubQuiet, type GitHub } from "../lib/services.js";
import type { LifecycleApp } from "./lifecycle-app.js";

/**
 * Scenario 5: the GitHub requests of one PR's whole life, counted where
 * GitHub would count them (the fake API), with the real server process as
 * the end-to-end test drives it: opened, 5 pushes (each waited for until
 * its deployment shows success, as pushes minutes apart would be),
 * `/preview extend 2h` by a maintainer, closed. Counted once everything has
 * settled (the coalesced updates and GitHub throttling included). The
 * counts do not vary between runs, so there is one round.
 */

const PR: PrScenario = { repoId: 7001, owner: "bench", name: "lifecycle", installationId: 71, pr: 1 };
const PUSHES = 5;
const WAIT_MS = 60_000;
const sha = (n: number) => n.toString(16).repeat(40).slice(0, 40);

const ROUTES = {
  createComment: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
  editComment: "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
  createDeployment: "POST /repos/{owner}/{repo}/deployments",
  createStatus: "POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
  permission: "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
  reaction: "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
} as const;

export async function githubRequestsPerLifecycle(ctx: BenchContext, github: GitHub, app: LifecycleApp): Promise<ScenarioResult> {
  const gh = github.fake;
  const repoName = `${PR.owner}/${PR.name}`;
  gh.addRepo({ id: PR.repoId, owner: PR.owner, name: PR.name, installationId: PR.installationId });
  gh.setPermission(repoName, "maintainer", "write");
  const key = { repoId: PR.repoId, pr: PR.pr };
  const send = async (event: string, payload: object) => {
    const response = await deliver(app.process.url("/api/github/webhooks"), event, payload, { secret: github.credentials.WEBHOOK_SECRET });
    if (response.status !== 200) throw new Error(`the app answered ${event} with ${response.status}:\n${app.process.tail()}`);
  };
  const readyFor = (headSha: string) =>
    waitFor(
      async () => {
        const snapshot = await app.store.load(key);
        const deployment = gh.deploymentsOf(repoName, `preview/pr-${PR.pr}`).find((d) => d.sha === headSha);
        return snapshot?.fields.status === "ready" && snapshot.fields.checkpoints?.deploy?.sha === headSha && deployment?.statuses.at(-1)?.state === "success";
      },
      () => app.process.tail(),
      WAIT_MS,
    );

  let at = Date.now() - 600_000;
  const tick = () => new Date((at += 1000));
  gh.clearRequests();
  const started = Date.now();
  ctx.progress(`5: a PR's life against the fake GitHub: opened, ${PUSHES} pushes, /preview extend, closed`);
  gh.setPull(repoName, { number: PR.pr, head: { sha: sha(1), ref: "feature" } });
  await send("pull_request", pullRequestEvent(PR, "opened", { sha: sha(1), at: tick() }));
  await readyFor(sha(1));
  const costAfterOpen = await environmentCost(app, key);
  // While the pushes are taken nothing here reads Redis (the wait is on the
  // fake GitHub), so what Redis counts is the app's own work.
  const storeWatch = await watchStore(app, key);
  for (let n = 2; n <= PUSHES + 1; n++) {
    gh.setPull(repoName, { number: PR.pr, head: { sha: sha(n), ref: "feature" } });
    await send("pull_request", pullRequestEvent(PR, "synchronize", { sha: sha(n), at: tick() }));
    await waitFor(() => gh.deploymentsOf(repoName, `preview/pr-${PR.pr}`).some((d) => d.sha === sha(n) && d.statuses.at(-1)?.state === "success"), () => app.process.tail(), WAIT_MS);
  }
  await githubQuiet(gh, 1000, WAIT_MS);
  const storeWork = await storeWatch.stop();
  await readyFor(sha(PUSHES + 1));
  const costAfterPushes = await environmentCost(app, key);
  const expiresBefore = Date.parse((await app.store.load(key))?.fields.expires_at ?? "");
  const command = gh.addComment(repoName, PR.pr, { body: "/preview extend 2h", user: "maintainer" });
  await send("issue_comment", prCommentEvent(PR, "/preview extend 2h", { login: "maintainer", at: tick(), id: command.id }));
  await waitFor(async () => Date.parse((await app.store.load(key))?.fields.expires_at ?? "") > expiresBefore, () => app.process.tail(), WAIT_MS);
  gh.setPull(repoName, { number: PR.pr, state: "closed", head: { sha: sha(PUSHES + 1), ref: "feature" } });
  await send("pull_request", pullRequestEvent(PR, "closed", { sha: sha(PUSHES + 1), at: tick() }));
  await waitFor(
    async () =>
      (await app.store.load(key))?.fields.status === "deleted" &&
      gh.deploymentsOf(repoName, `preview/pr-${PR.pr}`).every((d) => d.statuses.at(-1)?.state === "inactive"),
    () => app.process.tail(),
    WAIT_MS,
  );
  // Coalesced comment updates run up to a second later, then wait for GitHub throttling.
  await githubQuiet(gh, 3000, WAIT_MS);
  const lifeSeconds = Math.round((Date.now() - started) / 1000);

  const ours = gh.requests.filter((r) => r.path.startsWith(`/repos/${repoName}/`) || r.installationId === PR.installationId || r.path.includes(`/installations/${PR.installationId}/`));
  if (gh.unexpected.length > 0) throw new Error(`requests the fake GitHub did not expect: ${JSON.stringify(gh.unexpected.slice(0, 3))}`);
  const result = summarise(ours, lifeSeconds);
  const perPush = (count: number) => count / PUSHES;
  return {
    figures: [
      ...result.figures,
      figure({
        scenario: "5 store work per push",
        figure: "reconcile passes (lease taken)",
        unit: "per push",
        value: perPush(storeWork.passes),
        floor: 1,
        goal: { text: "1", met: storeWork.passes <= PUSHES },
      }),
      figure({
        scenario: "5 store work per push",
        figure: "Redis commands (INFO commandstats, idle polls included)",
        unit: "per push",
        value: perPush(storeWork.commands),
        floor: null,
        goal: null,
        note: `${storeWork.commands} commands over ${PUSHES} pushes in ${(storeWork.ms / 1000).toFixed(1)} s`,
      }),
    ],
    details: { ...result.details, realEnvironment: { afterOpen: costAfterOpen, afterPushes: costAfterPushes }, storeWorkPerPush: { ...storeWork, pushes: PUSHES } },
  };
}

/**
 * What the app asks of its Redis from now until `stop`, counted by Redis
 * itself: reconcile passes (each takes the environment's lease: MONITOR sees
 * the lease script called with "take" on its key) and commands (INFO
 * commandstats, less the INFO calls and MONITOR of this watch).
 */
async function watchStore(app: LifecycleApp, key: EnvKey): Promise<{ stop(): Promise<{ passes: number; commands: number; byCommand: Record<string, number>; ms: number }> }> {
  const leaseKey = app.keys.env(key, "lease");
  const monitor = await app.redis.monitor();
  let passes = 0;
  monitor.on("monitor", (_time: string, args: string[]) => {
    if (args.includes(leaseKey) && args.includes("take")) passes += 1;
  });
  const startedAt = Date.now();
  const before = await commandCalls(app.redis);
  return {
    async stop() {
      const after = await commandCalls(app.redis);
      monitor.disconnect();
      const byCommand = Object.fromEntries(
        Object.entries(after)
          .map(([command, calls]) => [command, calls - (before[command] ?? 0)] as const)
          .filter(([, calls]) => calls > 0),
      );
      const commands = Object.values(byCommand).reduce((sum, calls) => sum + calls, 0);
      return { passes, commands, byCommand, ms: Date.now() - startedAt };
    },
  };
}

/** Calls of each command since Redis started, but INFO and MONITOR (the watch's own). */
async function commandCalls(redis: LifecycleApp["redis"]): Promise<Record<string, number>> {
  const info = await redis.info("commandstats");
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== undefined && match[1] !== "info" && match[1] !== "monitor") calls[match[1]] = Number(match[2]);
  }
  return calls;
}

/** What this real environment's keys cost in Redis (a cross-check of scenario 3's sample): value bytes and MEMORY USAGE per key. */
async function environmentCost(app: LifecycleApp, key: EnvKey): Promise<{ valueBytes: number; memoryUsage: number; perKey: Record<string, [number, number]> }> {
  const perKey: Record<string, [number, number]> = {};
  for (const { key: name, value } of await app.store.exportKeys(key)) {
    const bytes = Array.isArray(value) ? value.reduce((sum, item) => sum + Buffer.byteLength(String(item)), 0) : Buffer.byteLength(value);
    perKey[app.keys.parseEnv(name)?.part ?? name] = [bytes, Number(await app.redis.call("MEMORY", "USAGE", name, "SAMPLES", "0"))];
  }
  const sum = (i: 0 | 1) => Object.values(perKey).reduce((total, pair) => total + pair[i], 0);
  return { valueBytes: sum(0), memoryUsage: sum(1), perKey };
}

function routeOf(request: RecordedRequest): string {
  return `${request.method} ${request.route ?? request.path}`;
}

function summarise(requests: RecordedRequest[], lifeSeconds: number): ScenarioResult {
  const of = (route: string) => requests.filter((r) => routeOf(r) === route);
  const bodyOf = (r: RecordedRequest) => (r.body as { body?: string } | undefined)?.body ?? "";

  const creates = of(ROUTES.createComment);
  const edits = of(ROUTES.editComment);
  // A change of rendered state: an edit whose body differs from what the comment showed before it.
  let shown = creates[0] ? bodyOf(creates[0]) : "";
  let changes = 0;
  for (const edit of edits) {
    if (bodyOf(edit) !== shown) changes++;
    shown = bodyOf(edit);
  }

  const deployments = of(ROUTES.createDeployment).map((r) => (r.body as { ref: string }).ref);
  const shas = new Set(deployments);
  const statusesByDeployment = new Map<string, string[]>();
  for (const r of of(ROUTES.createStatus)) {
    const id = /\/deployments\/(\d+)\/statuses$/.exec(r.path)?.[1] ?? "?";
    statusesByDeployment.set(id, [...(statusesByDeployment.get(id) ?? []), (r.body as { state: string }).state]);
  }
  const statuses = [...statusesByDeployment.values()];
  const statusChanges = statuses.reduce((sum, states) => sum + states.filter((state, i) => i === 0 || state !== states[i - 1]).length, 0);
  const statusCount = statuses.reduce((sum, states) => sum + states.length, 0);
  const permissionChecks = of(ROUTES.permission);
  const commenters = new Set(permissionChecks.map((r) => r.path.split("/")[5]));
  const reactions = of(ROUTES.reaction).length;

  const byRoute: Record<string, number> = {};
  for (const r of requests) byRoute[routeOf(r)] = (byRoute[routeOf(r)] ?? 0) + 1;
  const writesAtGoal = 1 + changes + shas.size + statusChanges + reactions;
  const scenario = "5 GitHub requests per PR life";
  return {
    figures: [
      figure({ scenario, figure: "comment creates", unit: "count", value: creates.length, floor: 1, goal: { text: "≤ 1", met: creates.length <= 1 } }),
      figure({
        scenario,
        figure: "comment edits (floor: changes of rendered state)",
        unit: "count",
        value: edits.length,
        floor: changes,
        goal: { text: "1 per change of rendered state", met: edits.length <= changes },
      }),
      figure({
        scenario,
        figure: `deployments created (floor: head shas, ${shas.size})`,
        unit: "count",
        value: deployments.length,
        floor: PUSHES + 1,
        goal: { text: "1 per sha", met: deployments.length === PUSHES + 1 && shas.size === PUSHES + 1 },
      }),
      figure({
        scenario,
        figure: "deployment statuses (floor: changes of state)",
        unit: "count",
        value: statusCount,
        floor: statusChanges,
        goal: { text: "1 per change of a deployment's state", met: statusCount <= statusChanges },
      }),
      figure({
        scenario,
        figure: "permission checks (floor: commenters)",
        unit: "count",
        value: permissionChecks.length,
        floor: Math.max(1, commenters.size),
        goal: { text: "1 per commenter per 10 min", met: permissionChecks.length <= Math.max(1, commenters.size) },
      }),
      figure({
        scenario,
        figure: "all requests (floor: the writes the goals allow)",
        unit: "count",
        value: requests.length,
        floor: writesAtGoal,
        goal: null,
      }),
    ],
    details: {
      githubRequests: {
        lifeSeconds,
        byRoute,
        commentEdits: edits.length,
        renderedStateChanges: changes,
        deploymentsBySha: Object.fromEntries([...shas].map((s) => [s.slice(0, 7), deployments.filter((d) => d === s).length])),
        statusesByDeployment: Object.fromEntries(statusesByDeployment),
        permissionChecksByCommenter: Object.fromEntries([...commenters].map((c) => [c, permissionChecks.filter((r) => r.path.split("/")[5] === c).length])),
      },
    },
  };
}
