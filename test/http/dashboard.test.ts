import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListedEnvironment } from "../../src/read-model/list-environments.js";
import { renderDashboard } from "../../src/http/dashboard.js";
import { SECRETS } from "../cli/cli-harness.js";
import { ADMIN_TOKEN, basic, bearer, HOSTILE, serveAdmin, type Served } from "./admin-harness.js";

let served: Served;
beforeAll(async () => {
  served = await serveAdmin();
});
afterAll(async () => {
  await served?.close();
});

async function page(): Promise<string> {
  const response = await served.get("/dashboard", { headers: basic("ops", ADMIN_TOKEN) });
  expect(response.status).toBe(200);
  return response.text();
}

describe("the dashboard", () => {
  it("is off (404) without EPHEMERA_ADMIN_TOKEN", async () => {
    expect((await served.getWhenOff("/dashboard", { headers: basic("ops", ADMIN_TOKEN) })).status).toBe(404);
    expect((await served.getWhenOff("/dashboard")).status).toBe(404);
  });

  it("asks a browser to log in (401, Basic) without the token, and never echoes what was sent", async () => {
    const wrong = "not-the-admin-token-at-all";
    for (const headers of [{}, basic("ops", wrong), bearer(wrong), basic(ADMIN_TOKEN, "")]) {
      const response = await served.get("/dashboard", { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Basic realm="Ephemera"');
      const body = await response.text();
      expect(body).not.toContain(wrong);
      expect(body).not.toContain(ADMIN_TOKEN);
    }
  });

  it("serves one self-contained page: a strict CSP, no caching, bearer or Basic", async () => {
    for (const headers of [bearer(ADMIN_TOKEN), basic("anyone", ADMIN_TOKEN)]) {
      const response = await served.get("/dashboard", { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; style-src 'unsafe-inline'");
      expect(response.headers.get("cache-control")).toBe("no-store");
      const html = await response.text();
      expect(html).not.toMatch(/<script|<link|<img|src=/i);
    }
  });

  it("lists every environment with counts by status from the store, secrets redacted", async () => {
    const html = await page();
    for (const secret of Object.values(SECRETS)) expect(html).not.toContain(secret);
    expect(html).not.toContain("sealed:v1:");
    const keys = await served.fixture.world.store.listKeys();
    expect(html.match(/<tr><td>/g)).toHaveLength(keys.length);
    expect(html).toContain(`<strong>${keys.length}</strong> in total`);
    for (const [status, count] of Object.entries(await served.fixture.world.store.countByStatus())) {
      expect(html).toContain(`<strong>${count}</strong> ${status}</li>`);
    }
    expect(html).toContain("<strong>1</strong> new</li>");
    // acme/web#1: ready, expiring in the template's 2h, its URL linked without the deploy credentials.
    expect(html).toMatch(
      /<tr><td>acme\/web<\/td><td><a href="\/api\/environments\/1001\/1">#1<\/a><\/td><td><span class="status-ready">ready<\/span><\/td><td>in (2h|1h 59m)<\/td><td><a href="https:\/\/pr\.preview\.test\/" rel="noopener noreferrer">https:\/\/pr\.preview\.test\/<\/a><\/td><td>(just now|\d+m ago)<\/td><\/tr>/,
    );
  });

  it("shows a repository named like markup as text", async () => {
    const html = await page();
    expect(html).not.toContain(HOSTILE.repo);
    expect(html).not.toContain("<script");
    expect(html).toContain("<td>&lt;script&gt;alert(1)&lt;/script&gt;/x</td>");
  });

  it("links only http(s) URLs, escapes everything, and says when there is nothing", () => {
    const row: ListedEnvironment = { repo: `a"b/c'd`, repoId: 1, pr: 2, status: "ready", expiresAt: null, url: "javascript:alert(1)", since: null };
    const html = renderDashboard([row, { ...row, pr: 3, url: `https://x.test/"><b>` }], Date.UTC(2026, 0, 1));
    expect(html).toContain("<td>javascript:alert(1)</td>");
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('<a href="https://x.test/%22%3E%3Cb%3E" rel="noopener noreferrer">');
    expect(html).toContain("<td>a&quot;b/c&#39;d</td>");
    expect(renderDashboard([], 0)).toContain("<p>No environments.</p>");
  });
});
