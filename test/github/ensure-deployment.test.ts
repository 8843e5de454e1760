import { describe, expect, it } from "vitest";
import {
  deactivateEnvironment,
  ensureDeployment,
  ensureDeploymentStatus,
  previewEnvironment,
} from "../../src/github/ensure-deployment.js";
import { GitHubGoneError } from "../../src/github/github-api.js";
import { github, OUR_BOT, OWNER, PERSON, REPO, strictGitHub, testOctokit } from "../helpers/strict-github.js";

const PR = 42;
const SHA = "a".repeat(40);
const ENV = "preview/pr-42";
const DEPLOYMENTS = `/repos/${OWNER}/${REPO}/deployments`;
const statuses = (id: number) => `${DEPLOYMENTS}/${id}/statuses`;
const LATEST = { per_page: "1" };
const target = { octokit: testOctokit(), owner: OWNER, repo: REPO };
const APP_URL = "https://pr-42.preview.example.com";
const LOG_URL = "https://github.com/octo-org/shop/pull/42#issuecomment-500";

describe("ensureDeployment", () => {
  strictGitHub();

  it("names the environment after the PR", () => {
    expect(previewEnvironment(PR)).toBe(ENV);
  });

  it("creates one transient deployment for a sha, then makes no call once the id is recorded", async () => {
    github().get(DEPLOYMENTS).query({ sha: SHA, environment: ENV, per_page: "100" }).reply(200, []);
    github()
      .post(DEPLOYMENTS, {
        ref: SHA,
        environment: ENV,
        description: "Preview environment of PR #42",
        transient_environment: true,
        production_environment: false,
        auto_merge: false,
        required_contexts: [],
        payload: { ephemera: `pr-${PR}`, pr: PR, sha: SHA },
      })
      .reply(201, { id: 9001, sha: SHA, environment: ENV, creator: OUR_BOT });
    const created = await ensureDeployment({ ...target, pr: PR, sha: SHA });
    expect(created).toEqual({ deploymentId: 9001, result: "created" });

    const again = await ensureDeployment({ ...target, pr: PR, sha: SHA, knownDeploymentId: 9001 });
    expect(again).toEqual({ deploymentId: 9001, result: "unchanged" });
  });

  it("gives a new head sha its own deployment", async () => {
    const next = "b".repeat(40);
    github().get(DEPLOYMENTS).query({ sha: next, environment: ENV, per_page: "100" }).reply(200, []);
    github()
      .post(DEPLOYMENTS, (body: { ref?: string; environment?: string }) => body.ref === next && body.environment === ENV)
      .reply(201, { id: 9003 });
    expect(await ensureDeployment({ ...target, pr: PR, sha: next })).toEqual({ deploymentId: 9003, result: "created" });
  });

  it("adopts the deployment it made for the sha when the id was never recorded, told by its payload", async () => {
    github()
      .get(DEPLOYMENTS)
      .query({ sha: SHA, environment: ENV, per_page: "100" })
      .reply(200, [
        { id: 6, sha: SHA, environment: ENV, creator: OUR_BOT, payload: "" },
        { id: 7, sha: SHA, environment: ENV, creator: PERSON, payload: { pr: PR } },
        { id: 8, sha: SHA, environment: ENV, creator: OUR_BOT, payload: { ephemera: `pr-${PR}`, pr: PR, sha: SHA } },
      ]);
    const adopted = await ensureDeployment({ ...target, pr: PR, sha: SHA, botLogin: OUR_BOT.login });
    expect(adopted).toEqual({ deploymentId: 8, result: "unchanged" });
  });

  it("does not adopt a deployment a person made in its environment", async () => {
    github()
      .get(DEPLOYMENTS)
      .query({ sha: SHA, environment: ENV, per_page: "100" })
      .reply(200, [{ id: 7, sha: SHA, environment: ENV, creator: PERSON }]);
    github().post(DEPLOYMENTS).reply(201, { id: 9002 });
    expect(await ensureDeployment({ ...target, pr: PR, sha: SHA })).toEqual({ deploymentId: 9002, result: "created" });
  });

  it("reports a repository GitHub no longer lets us see as gone", async () => {
    github().get(DEPLOYMENTS).query(true).reply(404, { message: "Not Found" });
    await expect(ensureDeployment({ ...target, pr: PR, sha: SHA })).rejects.toMatchObject({
      name: "GitHubGoneError",
      kind: "repository",
    });
  });
});

describe("ensureDeploymentStatus", () => {
  strictGitHub();
  const deployment = { ...target, deploymentId: 9001 };

  it("posts a status only when it differs from the last one, with no preview media type", async () => {
    // Nothing recorded yet: GitHub is asked what is in force.
    github().get(statuses(9001)).query(LATEST).reply(200, []);
    github()
      .post(statuses(9001), { state: "in_progress", log_url: LOG_URL, description: "Setting up" })
      .matchHeader("accept", "application/vnd.github.v3+json")
      .reply(201, { id: 1, state: "in_progress" });
    const started = await ensureDeploymentStatus({ ...deployment, state: "in_progress", logUrl: LOG_URL, description: "Setting up" });
    expect(started).toEqual({
      result: "created",
      status: { state: "in_progress", logUrl: LOG_URL, description: "Setting up" },
    });

    const same = await ensureDeploymentStatus({
      ...deployment,
      state: "in_progress",
      logUrl: LOG_URL,
      description: "Setting up",
      lastState: started.status,
    });
    expect(same).toEqual({ result: "unchanged", status: started.status });

    github()
      .post(statuses(9001), { state: "success", environment_url: APP_URL, log_url: LOG_URL })
      .matchHeader("accept", "application/vnd.github.v3+json")
      .reply(201, { id: 2, state: "success" });
    const ready = await ensureDeploymentStatus({
      ...deployment,
      state: "success",
      environmentUrl: APP_URL,
      logUrl: LOG_URL,
      lastState: same.status,
    });
    expect(ready).toEqual({ result: "created", status: { state: "success", environmentUrl: APP_URL, logUrl: LOG_URL } });

    const stillReady = await ensureDeploymentStatus({
      ...deployment,
      state: "success",
      environmentUrl: APP_URL,
      logUrl: LOG_URL,
      lastState: ready.status,
    });
    expect(stillReady.result).toBe("unchanged");
  });

  it("sends the environment URL with success only", async () => {
    github().post(statuses(9001), { state: "failure", description: "deploy failed" }).reply(201, { id: 3 });
    const failed = await ensureDeploymentStatus({
      ...deployment,
      state: "failure",
      environmentUrl: APP_URL,
      description: "deploy failed",
      lastState: { state: "in_progress" },
    });
    expect(failed.status).toEqual({ state: "failure", description: "deploy failed" });
  });

  it("sends the environment URL without its credentials, and then sees it as unchanged", async () => {
    github().post(statuses(9001), { state: "success", environment_url: APP_URL }).reply(201, { id: 4 });
    const withCredentials = APP_URL.replace("://", "://deploy:s3cret@");
    const ready = await ensureDeploymentStatus({ ...deployment, state: "success", environmentUrl: withCredentials, lastState: { state: "in_progress" } });
    expect(ready.status).toEqual({ state: "success", environmentUrl: APP_URL });
    github().get(statuses(9001)).query(LATEST).reply(200, [{ id: 4, state: "success", environment_url: APP_URL }]);
    expect((await ensureDeploymentStatus({ ...deployment, state: "success", environmentUrl: withCredentials })).result).toBe("unchanged");
  });

  it("posts nothing when GitHub already shows the status and no record was kept", async () => {
    github()
      .get(statuses(9001))
      .query(LATEST)
      .reply(200, [{ id: 2, state: "success", environment_url: APP_URL, log_url: "", description: "" }]);
    const result = await ensureDeploymentStatus({ ...deployment, state: "success", environmentUrl: APP_URL });
    expect(result).toEqual({ result: "unchanged", status: { state: "success", environmentUrl: APP_URL } });
  });

  it("reports a deleted deployment as gone", async () => {
    github().post(statuses(9001)).reply(404, { message: "Not Found" });
    const failure = ensureDeploymentStatus({ ...deployment, state: "success", lastState: { state: "in_progress" } });
    await expect(failure).rejects.toBeInstanceOf(GitHubGoneError);
    await expect(failure).rejects.toMatchObject({ kind: "deployment" });
  });
});

describe("deactivateEnvironment", () => {
  strictGitHub();
  const teardown = { ...target, pr: PR };

  it("marks every deployment of the environment inactive, once", async () => {
    github()
      .get(DEPLOYMENTS)
      .query({ environment: ENV, per_page: "100" })
      .reply(200, [
        { id: 3, sha: "c".repeat(40) },
        { id: 2, sha: "b".repeat(40) },
        { id: 1, sha: SHA },
      ]);
    github().get(statuses(3)).query(LATEST).reply(200, [{ id: 30, state: "success", environment_url: APP_URL }]);
    github().get(statuses(2)).query(LATEST).reply(200, [{ id: 20, state: "inactive" }]);
    github().get(statuses(1)).query(LATEST).reply(200, []);
    for (const id of [3, 1]) {
      github()
        .post(statuses(id), { state: "inactive", description: "Preview environment torn down" })
        .matchHeader("accept", "application/vnd.github.v3+json")
        .reply(201, { id: id * 10 + 1, state: "inactive" });
    }
    expect(await deactivateEnvironment(teardown)).toEqual([3, 1]);

    // A resumed teardown finds them all inactive and posts nothing.
    github()
      .get(DEPLOYMENTS)
      .query({ environment: ENV, per_page: "100" })
      .reply(200, [{ id: 3 }, { id: 2 }, { id: 1 }]);
    for (const id of [3, 2, 1]) github().get(statuses(id)).query(LATEST).reply(200, [{ id: 99, state: "inactive" }]);
    expect(await deactivateEnvironment(teardown)).toEqual([]);
  });

  it("skips a deployment deleted while it tears down, and still deactivates the rest", async () => {
    github()
      .get(DEPLOYMENTS)
      .query({ environment: ENV, per_page: "100" })
      .reply(200, [{ id: 2 }, { id: 1 }]);
    github().get(statuses(2)).query(LATEST).reply(404, { message: "Not Found" });
    github().get(statuses(1)).query(LATEST).reply(200, [{ id: 10, state: "success" }]);
    github().post(statuses(1), { state: "inactive", description: "PR closed" }).reply(201, { id: 11 });
    expect(await deactivateEnvironment({ ...teardown, description: "PR closed" })).toEqual([1]);
  });

  it("posts inactive without a read on the deployments the caller knows it left active, and reads the others", async () => {
    github()
      .get(DEPLOYMENTS)
      .query({ environment: ENV, per_page: "100" })
      .reply(200, [{ id: 3 }, { id: 2 }]);
    github().get(statuses(2)).query(LATEST).reply(200, [{ id: 20, state: "inactive" }]);
    github().post(statuses(3), { state: "inactive", description: "Torn down" }).reply(201, { id: 31 });
    expect(await deactivateEnvironment({ ...teardown, description: "Torn down", knownActive: new Set([3]) })).toEqual([3]);
  });
});
