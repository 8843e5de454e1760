import type { IncomingMessage, ServerResponse } from "node:http";
import type { StateStore } from "../store/state-store.js";

/** How long /readyz waits for the store before answering 503. */
const READY_TIMEOUT_MS = 2_000;

function sendJson(res: ServerResponse, status: number, body: object): true {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
  return true;
}

function pathOf(req: IncomingMessage): string {
  return req.url?.split("?")[0] ?? "";
}

async function pingWithin(store: StateStore, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([store.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /healthz`: the process is up. `GET /readyz`: the store answers; a
 * load balancer stops sending webhooks to a replica that cannot record them.
 */
export function healthHandler(store: StateStore) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET") return false;
    const path = pathOf(req);
    if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (path !== "/readyz") return false;
    try {
      await pingWithin(store, READY_TIMEOUT_MS);
      return sendJson(res, 200, { status: "ready", store: store.kind });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return sendJson(res, 503, { status: "unavailable", store: store.kind, reason: `${store.kind} store unreachable: ${reason}` });
    }
  };
}
