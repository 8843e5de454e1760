/**
 * How tests name requests, in `count`, `requestsMatching` and `failNext`:
 * - a method (`"GET"`, case-insensitive) or `"*"` for any;
 * - a path: exact (`/repos/acme/web/pulls/7`), a template whose `{name}`
 *   stands for one path segment (`/repos/{owner}/{repo}/pulls/{pull_number}`),
 *   `*` for any run of characters (`/repos/acme/web/*`), or a RegExp tested
 *   against the decoded path without `/api/v3`. A template also matches the
 *   route it names exactly, so `/repos/{owner}/{repo}/contents/{path}` finds
 *   `contents/.github/ephemera.yml` although that path has more segments.
 */
export type MethodPattern = string;
export type PathPattern = string | RegExp;

export interface Matchable {
  method: string;
  path: string;
  route?: string;
}

export function requestMatcher(method: MethodPattern, pattern: PathPattern): (request: Matchable) => boolean {
  const wantedMethod = method.toUpperCase();
  const regex = typeof pattern === "string" ? templateRegex(pattern) : pattern;
  return (request) =>
    (wantedMethod === "*" || request.method === wantedMethod) &&
    (regex.test(request.path) || (typeof pattern === "string" && request.route === pattern));
}

function templateRegex(template: string): RegExp {
  const source = template
    .split(/({\w+}|\*)/)
    .map((part) => (part === "*" ? ".*" : /^{\w+}$/.test(part) ? "[^/]+" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}
