import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { healthHandler, type HealthParams } from "../../src/http/health.js";

/** /healthz and /readyz over HTTP, with a store and a GitHub reachability that answer as each test says. */

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(params: HealthParams): Promise<(path: string) => Promise<{ status: number; text: string }>> {
  const handle = healthHandler(params);
  server = createServer((req, res) => {
    void handle(req, res).then((handled) => handled || res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return async (path) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, text: await response.text() };
  };
}

const reachable = { unreachable: () => false };

describe("/readyz", () => {
  it("is ready when the store answers and GitHub is not out of reach", async () => {
    const get = await serve({ store: { kind: "redis", ping: async () => undefined }, github: reachable });
    expect(await get("/readyz")).toEqual({ status: 200, text: JSON.stringify({ status: "ready", store: "redis" }) });
    expect((await get("/healthz")).status).toBe(200);
  });

  it("names the store and the class of its failure, never the error's text", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.20.30.40:6379"), { code: "ECONNREFUSED" });
    const get = await serve({ store: { kind: "redis", ping: () => Promise.reject(refused) }, github: reachable });
    const answer = await get("/readyz");
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toEqual({ status: "unavailable", store: "redis", reason: "store unreachable" });
    expect(answer.text).not.toContain("10.20.30.40");
  });

  it("says store timeout when the store does not answer in time", async () => {
    const get = await serve({ store: { kind: "sqlite", ping: () => new Promise(() => undefined) }, github: reachable, readyTimeoutMs: 50 });
    expect(JSON.parse((await get("/readyz")).text)).toEqual({ status: "unavailable", store: "sqlite", reason: "store timeout" });
  });

  it("takes a replica that cannot reach GitHub out of rotation, its store fine", async () => {
    const get = await serve({ store: { kind: "redis", ping: async () => undefined }, github: { unreachable: () => true } });
    const answer = await get("/readyz");
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toEqual({ status: "unavailable", store: "redis", reason: "github unreachable" });
    expect((await get("/healthz")).status).toBe(200);
  });
});
