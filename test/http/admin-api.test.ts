import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeEnvironment } from "../../src/read-model/describe-environment.js";
import type { ListedEnvironment } from "../../src/read-model/list-environments.js";
import { SECRETS } from "../cli/cli-harness.js";
import { allKeys, keyOf, REPOS } from "../cli/cli-world.js";
import { ADMIN_TOKEN, basic, bearer, HOSTILE, serveAdmin, type Served } from "./admin-harness.js";

let served: Served;
beforeAll(async () => {
  served = await serveAdmin();
});
afterAll(async () => {
  await served?.close();
});

const auth = bearer(ADMIN_TOKEN);

/** Throws when a planted secret or a sealed value is in `text`. */
function expectNoSecrets(text: string): void {
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  expect(text).not.toContain("sealed:v1:");
}

async function json<T>(path: string): Promise<{ status: number; body: T; text: string }> {
  const response = await served.get(path, { headers: auth });
  const text = await response.text();
  expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(response.headers.get("cache-control")).toBe("no-store");
  return { status: response.status, body: JSON.parse(text) as T, text };
}

describe("the admin API", () => {
  it("is off (404) without EPHEMERA_ADMIN_TOKEN, whatever the request carries", async () => {
    for (const path of ["/api/environments", "/api/environments/1001/1", "/api/environments?repo=acme/web"]) {
      expect((await served.getWhenOff(path, { headers: auth })).status).toBe(404);
      expect((await served.getWhenOff(path)).status).toBe(404);
    }
  });

  it("answers 401 with a Basic challenge without the token, and never echoes what was sent", async () => {
    const wrong = "wrong-token-that-is-long-enough";
    for (const headers of [{}, bearer(wrong), basic("admin", wrong), bearer(`${ADMIN_TOKEN}x`), { authorization: ADMIN_TOKEN }, { authorization: "Bearer" }, { authorization: "Basic !!!" }]) {
      const response = await served.get("/api/environments", { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Basic realm="Ephemera"');
      const body = await response.text();
      expect(body).not.toContain(wrong);
      expect(body).not.toContain(ADMIN_TOKEN);
    }
    expect((await served.get("/api/environments/1001/1", { method: "POST" })).status).toBe(401);
  });

  it("takes the token as a bearer token or as the Basic password with any user name", async () => {
    expect((await served.get("/api/environments", { headers: bearer(ADMIN_TOKEN) })).status).toBe(200);
    expect((await served.get("/api/environments", { headers: { authorization: `bearer   ${ADMIN_TOKEN}` } })).status).toBe(200);
    expect((await served.get("/api/environments", { headers: basic("anyone", ADMIN_TOKEN) })).status).toBe(200);
    expect((await served.get("/api/environments", { headers: basic("", ADMIN_TOKEN) })).status).toBe(200);
  });

  it("lists what the store holds, as the CLI's list --json does, redacted", async () => {
    const { status, body, text } = await json<ListedEnvironment[]>("/api/environments");
    expect(status).toBe(200);
    expectNoSecrets(text);
    const keys = await served.fixture.world.store.listKeys();
    expect(body.map(({ repoId, pr }) => ({ repoId, pr }))).toEqual(keys.map(({ repoId, pr }) => ({ repoId, pr })));
    for (const row of body) {
      const { fields, desired } = (await describeEnvironment(served.fixture.world.store, row))!;
      expect(Object.keys(row).sort()).toEqual(["expiresAt", "pr", "repo", "repoId", "since", "status", "url"]);
      expect(row.repo).toBe(fields.config?.repo ?? desired?.repo);
      expect(row.status).toBe(fields.status ?? "new");
      expect(row.expiresAt).toBe(fields.expires_at ?? null);
    }
    const web1 = body.find((row) => row.repoId === REPOS.web.id && row.pr === 1);
    expect(web1).toMatchObject({ repo: "acme/web", status: "ready", url: "https://[redacted]@pr.preview.test/" });
    expect(web1?.since).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(body.find((row) => row.repoId === REPOS.web.id && row.pr === 3)).toMatchObject({ status: "deleted" });
    expect(body.find((row) => row.repoId === HOSTILE.key.repoId)).toMatchObject({ repo: HOSTILE.repo, status: "new", url: null, expiresAt: null });
    const hostile = await json<Record<string, any>>(`/api/environments/${HOSTILE.key.repoId}/${HOSTILE.key.pr}`);
    // JSON carries names as they are: escaping is the page's job.
    expect(hostile.body).toMatchObject({ repo: HOSTILE.repo, pendingIntents: 1, desired: { headRef: HOSTILE.headRef } });
  });

  it("filters by repository (name or id) and status, validated as the CLI validates them", async () => {
    const byRepo = await json<ListedEnvironment[]>("/api/environments?repo=ACME/web");
    expect(byRepo.body.map((row) => row.pr)).toEqual([1, 2, 3]);
    expect((await json<ListedEnvironment[]>(`/api/environments?repo=${REPOS.api.id}`)).body.map((row) => row.pr)).toEqual([7]);
    const deleted = await json<ListedEnvironment[]>("/api/environments?repo=acme/web&status=deleted");
    expect(deleted.body.map((row) => `${row.repo}#${row.pr}`)).toEqual(["acme/web#3"]);
    expect((await json<ListedEnvironment[]>("/api/environments?status=new")).body.map((row) => row.repoId)).toEqual([HOSTILE.key.repoId]);
    expect((await json<ListedEnvironment[]>("/api/environments?repo=acme/unknown")).body).toEqual([]);

    const badStatus = await json<{ error: string }>("/api/environments?status=running");
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error).toMatch(/not a status/);
    expect((await json<{ error: string }>("/api/environments?repo=not%20a%20repo")).status).toBe(400);
  });

  it("shows one environment's fields, checkpoints and events, with secrets redacted as inspect redacts them", async () => {
    const key = keyOf(REPOS.web, 1);
    // The store holds the database password sealed, and the deploy URL and api_token in the clear.
    const stored = JSON.stringify(await allKeys(served.fixture.world.store));
    expect(stored).toContain("sealed:v1:");
    expect(stored).toContain(SECRETS.apiToken);

    const { status, body, text } = await json<Record<string, any>>(`/api/environments/${key.repoId}/${key.pr}`);
    expect(status).toBe(200);
    expectNoSecrets(text);
    const state = (await describeEnvironment(served.fixture.world.store, key))!;
    expect(body).toMatchObject({ key, repo: "acme/web", pendingIntents: 0, fields: { status: "ready", expires_at: state.fields.expires_at } });
    expect(body.fields.checkpoints.database.outputs).toEqual({ database: "app_1001_pr1", url: "[sealed]" });
    expect(body.fields.checkpoints.token.outputs.api_token).toBe("[redacted]");
    expect(body.fields.artifacts.url).toBe("https://[redacted]@pr.preview.test/");
    expect(body.events.map((event: { event: string }) => event.event)).toEqual(state.events.map((event) => event.event));
    expect(body.events.length).toBeGreaterThan(0);
  });

  it("answers 404 for an unknown environment or route, 405 for anything but GET", async () => {
    const unknown = await json<{ error: string }>("/api/environments/1001/999");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("no environment for repository id 1001, PR #999");
    expect((await json<unknown>("/api/environments/acme/web")).status).toBe(404);
    const post = await served.get("/api/environments/1001/1", { method: "DELETE", headers: auth });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await served.get("/api/environmentsx", { headers: auth })).status).toBe(404);
  });
});
