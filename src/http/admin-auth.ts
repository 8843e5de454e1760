import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A Probot handler for the read-only admin routes (the dashboard, the admin
 * API; `owns` says which paths): declined while EPHEMERA_ADMIN_TOKEN is unset,
 * so Probot answers 404 as for any unknown path; 401 without the token; 405
 * for anything but GET (changes are the CLI's). The token is never logged or
 * echoed here.
 */
export function adminRoute(
  adminToken: string | undefined,
  owns: (path: string) => boolean,
  serve: (path: string, query: URLSearchParams, res: ServerResponse) => Promise<void>,
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = req.url ?? "";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (adminToken === undefined || !owns(path)) return false;
    if (!admitAdmin(req, res, adminToken)) return true;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("405: read-only; use the CLI (npx ephemera) to change environments\n");
      return true;
    }
    await serve(path, new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1)), res);
    return true;
  };
}

/**
 * The request carries
 * `EPHEMERA_ADMIN_TOKEN` as `Authorization: Bearer <token>`, or as the
 * password of HTTP Basic with any user name (so a browser can open the
 * dashboard from its login prompt). Anything else gets a 401 with a Basic
 * challenge; the answer never repeats what was sent.
 */
function admitAdmin(req: IncomingMessage, res: ServerResponse, adminToken: string): boolean {
  const presented = presentedToken(req.headers.authorization);
  if (presented !== undefined && sameSecret(presented, adminToken)) return true;
  res
    .writeHead(401, { "www-authenticate": 'Basic realm="Ephemera"', "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" })
    .end("401 Unauthorized: send the admin token (EPHEMERA_ADMIN_TOKEN) as a bearer token, or as the password of HTTP Basic\n");
  return false;
}

function presentedToken(header: string | undefined): string | undefined {
  const match = /^(\S+)\s+(.+)$/s.exec(header ?? "");
  if (match === null) return undefined;
  const [, scheme = "", credentials = ""] = match;
  switch (scheme.toLowerCase()) {
    case "bearer":
      return credentials;
    case "basic": {
      // `user:password`; the password may itself hold colons.
      const decoded = Buffer.from(credentials, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      return colon === -1 ? undefined : decoded.slice(colon + 1);
    }
    default:
      return undefined;
  }
}

/** Compared as digests: `timingSafeEqual` needs equal lengths, and a digest also hides the token's. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
