import { HttpError, type Reply, type RouteRequest } from "./router.js";

const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;

function perPage(request: RouteRequest): number {
  const wanted = Number(request.query.per_page ?? DEFAULT_PER_PAGE);
  if (!Number.isInteger(wanted) || wanted < 1) return DEFAULT_PER_PAGE;
  return Math.min(wanted, MAX_PER_PAGE);
}

/** The request's own URL with some query parameters replaced, for `link` headers. */
function linkTo(api: string, request: RouteRequest, changes: Record<string, string>): string {
  const query = new URLSearchParams({ ...request.query, ...changes });
  return `${api}${request.path}?${query}`;
}

/**
 * GitHub's page-number pagination: `per_page` (default 30, at most 100),
 * `page` (from 1), and a `link` header with `next`/`last` (and `prev`/`first`
 * after the first page) that `octokit.paginate` follows. `wrap` puts the page
 * into an envelope such as `{ total_count, repositories }`.
 */
export function pageReply<T>(api: string, request: RouteRequest, items: readonly T[], wrap?: (page: T[]) => unknown): Reply {
  const size = perPage(request);
  const page = Math.max(1, Math.floor(Number(request.query.page ?? 1)) || 1);
  const last = Math.max(1, Math.ceil(items.length / size));
  const slice = items.slice((page - 1) * size, page * size);
  const links: string[] = [];
  const link = (target: number, rel: string) => links.push(`<${linkTo(api, request, { per_page: String(size), page: String(target) })}>; rel="${rel}"`);
  if (page > 1) link(page - 1, "prev");
  if (page < last) link(page + 1, "next");
  if (page < last) link(last, "last");
  if (page > 1) link(1, "first");
  return { status: 200, body: wrap ? wrap(slice) : slice, headers: links.length ? { link: links.join(", ") } : {} };
}

/**
 * Cursor pagination as `GET /app/hook/deliveries` does it: the `next` link
 * carries an opaque `cursor` (here: the id of the first item of the next
 * page); there is no `last`.
 */
export function cursorReply<T extends { id: number }>(api: string, request: RouteRequest, items: readonly T[]): Reply {
  const size = perPage(request);
  let start = 0;
  if (request.query.cursor !== undefined) {
    const id = Number(/^v1_(\d+)$/.exec(request.query.cursor)?.[1]);
    start = items.findIndex((item) => item.id === id);
    if (start < 0) throw new HttpError(422, "Invalid cursor");
  }
  const slice = items.slice(start, start + size);
  const next = items[start + size];
  const headers: Record<string, string> = next ? { link: `<${linkTo(api, request, { per_page: String(size), cursor: `v1_${next.id}` })}>; rel="next"` } : {};
  return { status: 200, body: slice, headers };
}
