import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";

/**
 * `GET /metrics` in the Prometheus text format (DESIGN §8). Open, like
 * /healthz: Prometheus scrapes it without credentials, and no series names
 * a repository, a PR or an installation. Store-derived gauges are read at
 * each scrape; a store that cannot be read shows as "unknown" there, and the
 * process metrics are still served.
 */
export function metricsHandler(registry: Registry) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return false;
    try {
      const body = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" }).end(body);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`metrics could not be collected: ${reason}\n`);
    }
    return true;
  };
}
