import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";

/** What a worker serves (EPHEMERA_ROLE=worker): the probes and the metrics, nothing a webhook or a person sends. */
const PROBE_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Puts a listener ahead of the server's own that answers 404 to every path
 * but the probes, so a worker's Probot server never receives a webhook (a
 * load balancer sending it one learns so at once) and serves no dashboard.
 */
export function serveProbesOnly(server: HttpServer): void {
  const behind = server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (PROBE_PATHS.has(req.url?.split("?")[0] ?? "")) {
      for (const listener of behind) listener.call(server, req, res);
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "Not found: this replica is a worker (EPHEMERA_ROLE=worker) and takes no webhooks" }));
  });
}
