import { afterEach, describe, expect, it } from "vitest";
import type { CommandDesk } from "../../src/lifecycle/command-desk.js";
import type { CommandIntent } from "../../src/lifecycle/intent.js";
import { closeIntent, HOUR, openIntent } from "./harness.js";
import { waitFor } from "../helpers/wait-for.js";
import { makeWorld, type World } from "./world.js";

/**
 * Recorded slash-commands are carried out by the worker that holds the
 * environment, before its inbox is folded, and consumed by the same commit:
 * one whose worker dies before that commit is carried out again by the
 * next, and takes effect once.
 */

const SHA1 = "a".repeat(40);
let world: World | undefined;
afterEach(() => world?.dispose());

function command(commentId: number): CommandIntent {
  return {
    type: "command",
    // Now: how old a command is decides whether a failing one is still retried.
    at: new Date().toISOString(),
    commentId,
    author: "maintainer",
    authorId: 1,
    repo: "octo/shop",
    installationId: 7,
    command: { kind: "command", verb: "extend", durationMs: HOUR },
    deliveryId: `delivery-${commentId}`,
  };
}

describe("recorded commands", () => {
  it("a command whose worker dies before the fold is committed is carried out again, and extends once", async () => {
    const calls: number[] = [];
    const desk: CommandDesk = {
      async carryOut(intent) {
        calls.push(intent.commentId);
        // The first worker answers on the PR, then dies before its commit.
        if (calls.length === 1) throw new Error("worker died");
        return [{ type: "extend", at: intent.at, byMs: HOUR, actor: intent.author }];
      },
    };
    world = await makeWorld({ config: { templates: { default: { ttl: "4h", maxTtl: "2d", steps: [] } } }, commands: desk });
    const key = { repoId: 301, pr: 1 };
    world.reconciler.start();
    await world.lifecycle.record(key, openIntent(SHA1));
    const ready = await world.until(key, "ready", (fields) => fields.status === "ready");
    const before = Date.parse(ready.expires_at ?? "");

    await world.lifecycle.record(key, command(11), "delivery-11");
    expect(await world.lifecycle.record(key, command(11), "delivery-11")).toBe("duplicate");
    await world.until(key, "extended", (fields) => Date.parse(fields.expires_at ?? "") > before);
    const { store } = world;
    await waitFor(async () => (await store.load(key))?.inbox.length === 0, "inbox empty");

    expect(calls).toEqual([11, 11]);
    expect(Date.parse((await world.store.load(key))?.fields.expires_at ?? "")).toBe(before + HOUR);
  });

  it("a command GitHub keeps failing is retried, and dropped once it is an hour old, so it cannot hold up a close", async () => {
    let calls = 0;
    const desk: CommandDesk = {
      async carryOut() {
        calls += 1;
        throw new Error("GitHub is down");
      },
    };
    world = await makeWorld({ config: { templates: { default: { ttl: "4h", steps: [] } } }, commands: desk });
    const key = { repoId: 302, pr: 1 };
    world.reconciler.start();
    await world.lifecycle.record(key, openIntent(SHA1));
    await world.until(key, "ready", (fields) => fields.status === "ready");

    await world.lifecycle.record(key, { ...command(21), at: new Date(Date.now() - 2 * HOUR).toISOString() });
    await world.lifecycle.record(key, closeIntent());
    await world.until(key, "deleted", (fields) => fields.status === "deleted");
    expect(calls).toBe(1);

    const fresh = { repoId: 302, pr: 2 };
    await world.lifecycle.record(fresh, openIntent(SHA1));
    await world.until(fresh, "ready", (fields) => fields.status === "ready");
    await world.lifecycle.record(fresh, command(22));
    await world.lifecycle.record(fresh, closeIntent());
    // A recent one is retried (with the environment's error backoff), the close waiting behind it.
    await waitFor(() => calls >= 3, "retried");
    expect((await world.store.load(fresh))?.fields.status).toBe("ready");
  });
});
