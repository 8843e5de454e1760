import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { closeIntent, openIntent, pushIntent } from "./harness.js";
import { waitFor } from "../helpers/wait-for.js";
import { makeWorld, type World } from "./world.js";

/**
 * DESIGN §7: the template is fixed when the environment is created. A
 * repository that switches template while a PR is open changes nothing for
 * that PR's environment: pushes re-run its own steps, and its teardown runs
 * its own commands — even once the operator has removed the template.
 */

const [SHA1, SHA2] = ["1".repeat(40), "2".repeat(40)];
const dir = mkdtempSync(join(tmpdir(), "ephemera-pin-"));
let world: World | undefined;

afterEach(async () => {
  await world?.dispose();
  world = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const template = (tag: string) => ({
  steps: [{ name: `deploy-${tag}`, run: `./step.sh deploy-${tag}`, onUpdate: true }],
  teardown: [{ name: `undeploy-${tag}`, run: `./step.sh undeploy-${tag}` }],
});

/** Which steps logged an end, in order. */
const ended = (w: World) => w.ws.lines().filter((line) => line.kind === "end").map((line) => `${line.step}@${line.sha.slice(0, 1)}`);

describe("the template is fixed when the environment is created", () => {
  it("keeps running and tears down with the original template after the repository's file switches", async () => {
    let repoFile = { template: "alpha" };
    world = await makeWorld({ config: { templates: { alpha: template("a"), beta: template("b") } }, repoConfig: () => repoFile });
    const key = { repoId: 401, pr: 1 };
    await world.lifecycle.record(key, openIntent(SHA1));
    world.reconciler.start();
    await world.until(key, "ready", (fields) => fields.status === "ready");

    repoFile = { template: "beta" };
    await world.lifecycle.record(key, pushIntent(SHA2));
    const w = world;
    await waitFor(() => ended(w).includes("deploy-a@2"), "the push to be deployed");
    await world.until(key, "ready again", (fields) => fields.status === "ready");
    expect((await world.store.load(key))?.fields.config?.template).toBe("alpha");

    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (fields) => fields.status === "deleted");
    expect(ended(world)).toEqual(["deploy-a@1", "deploy-a@2", "undeploy-a@2"]);
  });

  it("holds an environment whose template the operator removed, and tears it down with the recorded one", async () => {
    const file = join(dir, "removed.sqlite");
    const key = { repoId: 402, pr: 2 };
    world = await makeWorld({ config: { templates: { default: template("b"), alpha: template("a") } }, repoConfig: () => ({ template: "alpha" }), store: openSqliteStore({ file, prefix: "ephemera:" }) });
    await world.lifecycle.record(key, openIntent(SHA1));
    world.reconciler.start();
    await world.until(key, "ready", (fields) => fields.status === "ready");
    await world.dispose();

    // Restarted with a config that no longer has "alpha": a push is held, with the reason on the PR.
    world = await makeWorld({ config: { templates: { default: template("b") } }, store: openSqliteStore({ file, prefix: "ephemera:" }) });
    await world.lifecycle.record(key, pushIntent(SHA2));
    world.reconciler.start();
    const held = await world.until(key, "held", (fields) => fields.artifacts?.blocked !== undefined);
    expect(held.artifacts?.blocked).toContain('template "alpha" is no longer in the operator config');

    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (fields) => fields.status === "deleted");
    expect(ended(world).map((step) => step.split("@")[0])).toEqual(["undeploy-a"]);
  });
});
