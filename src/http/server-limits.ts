import type { Server as HttpServer } from "node:http";

/**
 * GitHub's cap on a webhook payload ("Payloads are capped at 25 MB"; GitHub
 * drops a larger event rather than send it). Read as MiB, the generous
 * reading, so no delivery GitHub sends is ever refused.
 */
export const WEBHOOK_BODY_LIMIT_BYTES = 25 * 1024 * 1024;

/**
 * All webhook bodies being received at once, by their declared length (a
 * chunked one counts as the cap): what a replica holds in memory for them,
 * whatever the number of connections. GitHub's deliveries are mostly a few
 * kilobytes, so thousands fit; beyond it a delivery gets 503, GitHub marks it
 * failed, and the redelivery job asks for it again.
 */
export const WEBHOOK_BODIES_IN_FLIGHT_LIMIT_BYTES = 4 * WEBHOOK_BODY_LIMIT_BYTES;

/** What one client may hold of the server, and for how long. */
export interface ServerLimits {
  /** From the connection (or the previous request) to the end of the request's headers. */
  headersTimeoutMs: number;
  /** From the connection to the end of the request's body: a 25 MB delivery over a slow link fits, and GitHub gives up after 10 s anyway. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed as they are accepted (keep the process's file limit, `ulimit -n`, above it). */
  maxConnections: number;
}

/** Node's defaults (60 s for headers, 300 s for a request, no connection cap) let a slow client hold a socket for minutes. */
export const SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4_000,
};

/** How often Node sweeps connections for the two timeouts (its default is every 30 s, which would let a slow client stay 40 s). */
const SWEEP_INTERVAL_MS = 1_000;

/**
 * Applies `limits` to a server that is already listening (Probot's Server
 * creates and starts its own). Node reads the two timeouts at every sweep,
 * but the sweep interval only when the server starts listening, in its own
 * 'listening' listener, which clears the previous sweep before it arms a new
 * one: running it again is how the interval applies to a listening server.
 */
export function applyServerLimits(server: HttpServer, limits: ServerLimits = SERVER_LIMITS): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  const withInterval = server as HttpServer & { connectionsCheckingInterval: number };
  withInterval.connectionsCheckingInterval = SWEEP_INTERVAL_MS;
  for (const listener of server.listeners("listening")) {
    if (listener.name === "setupConnectionsTracking") listener.call(server);
  }
}
