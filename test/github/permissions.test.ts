import { describe, expect, it } from "vitest";
import { createWriteAccessCheck } from "../../src/github/permissions.js";
import { github, OWNER, REPO, strictGitHub, testOctokit } from "../helpers/strict-github.js";

const permissionOf = (user: string) => `/repos/${OWNER}/${REPO}/collaborators/${user}/permission`;
const query = (username: string) => ({ octokit: testOctokit(), owner: OWNER, repo: REPO, username });

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("hasWriteAccess", () => {
  strictGitHub();

  it.each([
    ["read", "read", false],
    ["triage", "read", false],
    ["write", "write", true],
    ["maintain", "write", true],
    ["admin", "admin", true],
    // A custom role is judged by the base role GitHub reports for it.
    ["deployer", "write", true],
    ["auditor", "read", false],
    ["none", "none", false],
  ])("role %s (permission %s) → write access %s", async (roleName, permission, expected) => {
    github().get(permissionOf("alice")).reply(200, { permission, role_name: roleName, user: { login: "alice" } });
    expect(await createWriteAccessCheck()(query("alice"))).toBe(expected);
  });

  it("treats a 404 as no access", async () => {
    github().get(permissionOf("ghost")).reply(404, { message: "Not Found" });
    expect(await createWriteAccessCheck()(query("ghost"))).toBe(false);
  });

  it("lets other errors propagate, and does not cache them", async () => {
    const hasWriteAccess = createWriteAccessCheck();
    github().get(permissionOf("alice")).reply(403, { message: "Resource not accessible by integration" });
    await expect(hasWriteAccess(query("alice"))).rejects.toMatchObject({ status: 403 });
    github().get(permissionOf("alice")).reply(200, { permission: "write", role_name: "write" });
    expect(await hasWriteAccess(query("alice"))).toBe(true);
  });

  it("asks once per user and repository within the TTL, and again after it", async () => {
    const clock = manualClock();
    const hasWriteAccess = createWriteAccessCheck({ now: clock.now });
    github().get(permissionOf("alice")).once().reply(200, { permission: "write", role_name: "maintain" });
    for (let i = 0; i < 5; i++) expect(await hasWriteAccess(query("alice"))).toBe(true);
    // GitHub logins are case-insensitive: the same user, the same answer.
    expect(await hasWriteAccess(query("Alice"))).toBe(true);
    clock.advance(10 * 60_000 - 1);
    expect(await hasWriteAccess(query("alice"))).toBe(true);

    clock.advance(1);
    github().get(permissionOf("alice")).once().reply(200, { permission: "read", role_name: "read" });
    expect(await hasWriteAccess(query("alice"))).toBe(false);
  });

  it("shares one request between concurrent checks", async () => {
    const hasWriteAccess = createWriteAccessCheck();
    github().get(permissionOf("alice")).once().reply(200, { permission: "admin", role_name: "admin" });
    const answers = await Promise.all([1, 2, 3].map(() => hasWriteAccess(query("alice"))));
    expect(answers).toEqual([true, true, true]);
  });

  it("keys by repository id when given, so a renamed repository keeps its answers", async () => {
    const hasWriteAccess = createWriteAccessCheck();
    github().get(permissionOf("alice")).once().reply(200, { permission: "write", role_name: "write" });
    expect(await hasWriteAccess({ ...query("alice"), repoId: 123 })).toBe(true);
    expect(await hasWriteAccess({ ...query("alice"), repo: "shop-renamed", repoId: 123 })).toBe(true);
  });

  it("forgets the oldest answer beyond its size bound", async () => {
    const hasWriteAccess = createWriteAccessCheck({ maxEntries: 2 });
    for (const user of ["a", "b", "c"]) {
      github().get(permissionOf(user)).once().reply(200, { permission: "write", role_name: "write" });
      await hasWriteAccess(query(user));
    }
    // "b" and "c" are still known; "a" was forgotten and costs a new call.
    await hasWriteAccess(query("c"));
    await hasWriteAccess(query("b"));
    github().get(permissionOf("a")).once().reply(200, { permission: "read", role_name: "read" });
    expect(await hasWriteAccess(query("a"))).toBe(false);
  });
});
