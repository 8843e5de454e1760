import http from "node:http";

/** One request to send: headers (content-length included) and a body. */
export interface PreparedRequest {
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

export interface LoadOptions {
  port: number;
  path: string;
  /** Requests in flight at once, each on its own keep-alive connection. */
  concurrency: number;
  /** No request starts after this long. */
  durationMs: number;
  /** Nor after this many: the loop is bounded in count as well as time. */
  maxRequests: number;
  /** The n-th request (0-based). */
  request: (n: number) => PreparedRequest;
  /** A request that takes longer is abandoned and counted as failed. */
  timeoutMs?: number;
}

export interface LoadResult {
  completed: number;
  failed: number;
  /** Responses by status code; the bench expects all 200. */
  statuses: Record<number, number>;
  /** From the first request sent to the last answer received. */
  elapsedMs: number;
  /** Per completed request, in ms (send to end of response). */
  latenciesMs: Float64Array;
  /** CPU this process (the load generator) spent meanwhile. */
  clientCpuMs: number;
}

/** A keep-alive agent with exactly `concurrency` sockets, reused across warm-up and rounds. */
export function keepAliveAgent(concurrency: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
}

/**
 * Closed-loop load: `concurrency` workers each send a request, wait for its
 * answer, and send the next, until the time or the count runs out. Latency
 * is measured per request; throughput is completed / elapsed.
 */
export async function runLoad(agent: http.Agent, options: LoadOptions): Promise<LoadResult> {
  const { port, path, concurrency, durationMs, maxRequests, request, timeoutMs = 10_000 } = options;
  const latencies = new Float64Array(maxRequests);
  const statuses: Record<number, number> = {};
  let issued = 0;
  let completed = 0;
  let failed = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationMs;

  const worker = async () => {
    while (performance.now() < deadline && issued < maxRequests) {
      const prepared = request(issued++);
      const sent = performance.now();
      try {
        const status = await sendOne(agent, { port, path, timeoutMs }, prepared);
        latencies[completed++] = performance.now() - sent;
        statuses[status] = (statuses[status] ?? 0) + 1;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { completed, failed, statuses, elapsedMs, latenciesMs: latencies.subarray(0, completed), clientCpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Sends one request and resolves with its status once the whole answer is in. */
export function sendOne(agent: http.Agent, target: { port: number; path: string; timeoutMs: number }, prepared: PreparedRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: target.port, path: target.path, method: "POST", agent, headers: prepared.headers }, (res) => {
      res.on("error", reject);
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.resume();
    });
    req.setTimeout(target.timeoutMs, () => req.destroy(new Error(`no answer within ${target.timeoutMs} ms`)));
    req.on("error", reject);
    req.end(prepared.body);
  });
}
