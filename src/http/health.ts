import type { IncomingMessage, ServerResponse } from "node:http";
import type { StateStore } from "../lifecycle/state-store.js";

/** How long /readyz waits for the store before answering 503. */
const READY_TIMEOUT_MS = 2_000;

/**
 * Why a replica is not ready, by class only: the endpoint is open, and a raw
 * error names hosts, ports and addresses of the network behind it. The
 * store's failures are counted in `ephemera_store_errors_total`, GitHub's in
 * `ephemera_github_requests_total`.
 */
type NotReady = "store unreachable" | "store timeout" | "github unreachable";

export interface HealthParams {
  store: Pick<StateStore, "ping" | "kind">;
  github: { unreachable(): boolean };
  /** Tests shorten it. */
  readyTimeoutMs?: number;
}

function sendJson(res: ServerResponse, status: number, body: object): true {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
  return true;
}

function pathOf(req: IncomingMessage): string {
  return req.url?.split("?")[0] ?? "";
}

/** The store's failure class, or none when it answers within `ms`. */
async function storeFailure(store: HealthParams["store"], ms: number): Promise<NotReady | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<NotReady>((resolve) => {
    timer = setTimeout(() => resolve("store timeout"), ms);
  });
  const ping = store.ping().then(
    () => undefined,
    (): NotReady => "store unreachable",
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /healthz`: the process is up. `GET /readyz`: the store answers and
 * GitHub has not been out of reach for a while; a load balancer stops
 * sending webhooks to a replica that cannot record them or act on them.
 */
export function healthHandler({ store, github, readyTimeoutMs = READY_TIMEOUT_MS }: HealthParams) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET") return false;
    const path = pathOf(req);
    if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (path !== "/readyz") return false;
    const reason = (await storeFailure(store, readyTimeoutMs)) ?? (github.unreachable() ? "github unreachable" : undefined);
    if (reason !== undefined) return sendJson(res, 503, { status: "unavailable", store: store.kind, reason });
    return sendJson(res, 200, { status: "ready", store: store.kind });
  };
}
