import { describe, expect, it } from "vitest";
import { checkGitHubRequest, describeInvalidRequests } from "./github-openapi.js";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const deployment = (body: Record<string, unknown>) =>
  checkGitHubRequest({ method: "POST", path: "/api/v3/repos/acme/web/deployments", headers: JSON_HEADERS, body });

describe("checkGitHubRequest", () => {
  it("accepts a create-deployment body as Ephemera sends it, payload included", () => {
    const check = deployment({
      ref: "a".repeat(40),
      environment: "pr-42",
      auto_merge: false,
      required_contexts: [],
      transient_environment: true,
      production_environment: false,
      description: "Ephemera preview",
      payload: { ephemera: { environment_id: "env_1" } },
    });
    expect(check).toEqual({
      operation: { method: "POST", template: "/repos/{owner}/{repo}/deployments", operationId: "repos/create-deployment" },
      problems: [],
    });
  });

  it("names each invalid field of a body", () => {
    expect(deployment({ ref: "main", auto_merge: "no", environment: 7 }).problems).toEqual([
      "body.auto_merge must be boolean",
      "body.environment must be string",
    ]);
    expect(deployment({ auto_merge: false }).problems).toEqual(["body must have required property 'ref'"]);
  });

  it("flags a body field GitHub does not document (it would ignore a misspelling)", () => {
    expect(deployment({ ref: "main", auto_merg: false }).problems).toEqual(["body.auto_merg is not a field GitHub documents here"]);
  });

  it("refuses a path or method GitHub has no operation for", () => {
    expect(checkGitHubRequest({ method: "GET", path: "/api/v3/repos/acme/web/previews" })).toEqual({
      problems: ["GitHub documents no operation GET /repos/acme/web/previews"],
    });
    expect(checkGitHubRequest({ method: "DELETE", path: "/api/v3/app" }).problems).toEqual(["GitHub documents no operation DELETE /app"]);
  });

  it("accepts an installation token scoped with repository_ids, and checks the ids and the path parameter", () => {
    const token = (path: string, body: unknown) => checkGitHubRequest({ method: "POST", path, headers: JSON_HEADERS, body });
    expect(token("/api/v3/app/installations/77/access_tokens", { repository_ids: [123456] })).toMatchObject({
      operation: { operationId: "apps/create-installation-access-token" },
      problems: [],
    });
    expect(token("/api/v3/app/installations/77/access_tokens", undefined).problems).toEqual([]);
    expect(token("/api/v3/app/installations/acme/access_tokens", { repository_ids: ["web"] }).problems).toEqual([
      "path.installation_id must be integer",
      "body.repository_ids.0 must be integer",
    ]);
  });

  it("checks query parameters' types and enums, and refuses unknown ones", () => {
    const list = (query: string) => checkGitHubRequest({ method: "GET", path: `/api/v3/repos/acme/web/pulls?${query}` });
    expect(list("state=open&per_page=100&page=2")).toMatchObject({ operation: { operationId: "pulls/list" }, problems: [] });
    expect(list("state=merged&per_page=many&colour=red").problems).toEqual([
      "query.colour is not a parameter of this operation",
      'query.state must be equal to one of the allowed values ("open", "closed", "all")',
      "query.per_page must be integer",
    ]);
  });

  it("prefers a literal segment to a parameter, and lets contents/{path} span slashes", () => {
    expect(checkGitHubRequest({ method: "GET", path: "/api/v3/repos/acme/web/pulls/comments" }).operation?.operationId).toBe(
      "pulls/list-review-comments-for-repo",
    );
    for (const path of ["/repos/acme/web/contents/.github/ephemera.yml", "/repos/acme/web/contents/.github%2Fephemera.yml"]) {
      expect(checkGitHubRequest({ method: "GET", path: `/api/v3${path}?ref=main` })).toMatchObject({ operation: { operationId: "repos/get-content" }, problems: [] });
    }
  });

  it("takes a repository by id as GitHub's pagination links spell it", () => {
    const page2 = checkGitHubRequest({ method: "GET", path: "/api/v3/repositories/123456/issues/42/comments?per_page=100&page=2" });
    expect(page2).toMatchObject({ operation: { operationId: "issues/list-comments" }, problems: [] });
    expect(checkGitHubRequest({ method: "GET", path: "/api/v3/repositories/123456" }).operation?.operationId).toBe("repos/get");
  });

  it("wants a required body, and JSON where GitHub takes JSON", () => {
    const dispatch = "/api/v3/repos/acme/web/actions/workflows/preview.yml/dispatches";
    expect(checkGitHubRequest({ method: "POST", path: dispatch }).problems).toEqual(["body is required"]);
    expect(checkGitHubRequest({ method: "POST", path: dispatch, headers: { "content-type": "text/plain" }, body: "ref=main" }).problems).toEqual([
      'body: content-type is "text/plain", GitHub expects application/json',
    ]);
    expect(checkGitHubRequest({ method: "GET", path: "/api/v3/app", headers: JSON_HEADERS, body: {} }).problems).toEqual(["body: this operation takes none"]);
  });

  it("describes invalid requests with method, path, operation and each problem", () => {
    const path = "/repos/acme/web/deployments";
    const check = deployment({ ref: "main", auto_merge: "no" });
    expect(describeInvalidRequests([{ method: "POST", path, check }])).toBe(
      [
        "1 request(s) invalid against GitHub's OpenAPI description:",
        "POST /repos/acme/web/deployments (repos/create-deployment, /repos/{owner}/{repo}/deployments):",
        "  - body.auto_merge must be boolean",
      ].join("\n"),
    );
  });
});
