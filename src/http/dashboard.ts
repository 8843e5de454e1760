import { formatRelative } from "../config/duration.js";
import { STATUSES } from "../lifecycle/environment.js";
import type { EnvironmentReader } from "../read-model/describe-environment.js";
import { listEnvironments, type ListedEnvironment } from "../read-model/list-environments.js";
import { redactValue } from "../read-model/redact.js";
import { storeFailure } from "./admin-api.js";
import { adminRoute } from "./admin-auth.js";

/**
 * `GET /dashboard` (DESIGN §8): one server-rendered page listing every
 * environment, behind EPHEMERA_ADMIN_TOKEN like the admin API and read-only
 * like it. No script and no external asset: the CSP allows only the inline
 * stylesheet, and every value (repository names, URLs: all of them come from
 * PRs and steps) is HTML-escaped.
 */

const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // A preview's own pages need not learn the dashboard's address.
  "referrer-policy": "no-referrer",
};

export function dashboardHandler(store: EnvironmentReader, adminToken: string | undefined) {
  return adminRoute(adminToken, (path) => path === "/dashboard", async (_path, _query, res) => {
    let rows: ListedEnvironment[];
    try {
      rows = redactValue(await listEnvironments(store));
    } catch (error) {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(`${storeFailure(error)}\n`);
      return;
    }
    res.writeHead(200, HTML_HEADERS).end(renderDashboard(rows, Date.now()));
  });
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2328; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .75rem; border-bottom: 1px solid #d0d7de; }
th { background: #f6f8fa; }
.counts { display: flex; gap: 1.5rem; list-style: none; padding: 0; }
.status-ready { color: #1a7f37; } .status-failed { color: #cf222e; } .status-deleted { color: #6e7781; }
footer { margin-top: 1rem; color: #6e7781; }`;

/** The page for `rows` (already redacted), times relative to `now`. Pure. */
export function renderDashboard(rows: readonly ListedEnvironment[], now: number): string {
  const relative = (iso: string | null) => (iso === null ? "-" : formatRelative(Date.parse(iso) - now));
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const countItems = [...STATUSES, "new"]
    .filter((status) => counts.has(status))
    .map((status) => `<li class="status-${status}"><strong>${counts.get(status)}</strong> ${escapeHtml(status)}</li>`);
  const tableRows = rows.map((row) =>
    cells([
      escapeHtml(row.repo || String(row.repoId)),
      // The PR links to its details in the admin API (the same credentials).
      `<a href="/api/environments/${row.repoId}/${row.pr}">#${row.pr}</a>`,
      `<span class="status-${escapeHtml(row.status)}">${escapeHtml(row.status)}</span>`,
      escapeHtml(row.status === "deleted" ? "-" : relative(row.expiresAt)),
      row.url === null ? "-" : linkOrText(row.url),
      escapeHtml(relative(row.since)),
    ]),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ephemera environments</title>
<style>${STYLE}
</style>
</head>
<body>
<h1>Ephemera environments</h1>
<ul class="counts"><li><strong>${rows.length}</strong> in total</li>${countItems.join("")}</ul>
${
  rows.length === 0
    ? "<p>No environments.</p>"
    : `<table>
<thead>${cells(["Repository", "PR", "Status", "Expires", "URL", "Age"], "th")}</thead>
<tbody>
${tableRows.join("\n")}
</tbody>
</table>`
}
<footer>As of ${escapeHtml(new Date(now).toISOString())}. Read-only: extend, tear down and repair with the CLI (<code>npx ephemera</code>).</footer>
</body>
</html>
`;
}

function cells(values: readonly string[], tag: "td" | "th" = "td"): string {
  return `<tr>${values.map((value) => `<${tag}>${value}</${tag}>`).join("")}</tr>`;
}

const HTML_ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text for element content and quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ENTITIES[char] ?? char);
}

/** A link only to an http(s) URL, shown and linked without credentials; anything else (`javascript:`) is text. */
function linkOrText(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return escapeHtml(url);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return escapeHtml(url);
  parsed.username = "";
  parsed.password = "";
  const href = escapeHtml(parsed.href);
  return `<a href="${href}" rel="noopener noreferrer">${href}</a>`;
}
