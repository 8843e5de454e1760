import { lookup, type LookupAddress } from "node:dns";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { awaitReadiness, type ReadinessResult } from "../../src/lifecycle/readiness.js";
import { createReadinessProbe, isRefusedAddress, type ReadinessProbe } from "../../src/lifecycle/readiness-probe.js";
import { freePort } from "../helpers/redis-server.js";

/**
 * The HTTP readiness check as a probe of the network the app runs in: what
 * it follows, what it refuses to reach, and what it lets the PR see.
 */

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

interface Seen {
  path: string;
  host: string;
}

/** A local server answering each path as `routes` says; it records the requests it got. */
async function serve(routes: Record<string, { status: number; location?: string; body?: string }>): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", host: req.headers.host ?? "" });
    const route = routes[req.url ?? ""] ?? { status: 404 };
    res.writeHead(route.status, route.location === undefined ? {} : { location: route.location }).end(route.body ?? "");
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** One try (timeout = interval) of a check of `url`, as the settle step runs it. */
function check(url: string, probe: ReadinessProbe = createReadinessProbe(), envUrl?: string): Promise<ReadinessResult> {
  return awaitReadiness({
    readiness: { url, timeoutMs: 2_000, intervalMs: 2_000 },
    url: envUrl,
    runCheck: async () => undefined,
    probe,
    signal: new AbortController().signal,
    now: Date.now,
  });
}

/** A resolver that answers `names` itself and asks DNS for the rest. */
function resolving(names: Record<string, string>) {
  return (hostname: string, options: object, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => {
    const address = names[hostname];
    if (address === undefined) return lookup(hostname, { ...options, all: true }, callback);
    callback(null, [{ address, family: address.includes(":") ? 6 : 4 }]);
  };
}

const NOT_PASSED = "readiness check did not pass";

describe("the readiness check's reach", () => {
  it("follows a redirect on the same host, and passes on its 2xx", async () => {
    const { port, seen } = await serve({ "/healthz": { status: 302, location: "/ready" }, "/ready": { status: 200 } });
    expect(await check(`http://127.0.0.1:${port}/healthz`)).toEqual({ ready: true });
    expect(seen.map(({ path }) => path)).toEqual(["/healthz", "/ready"]);
  });

  it("does not follow a redirect to another host, nor more than five", async () => {
    const { port, seen } = await serve({
      "/away": { status: 301, location: "http://169.254.169.254/latest/meta-data/" },
      "/elsewhere": { status: 307, location: "http://other.example/" },
      "/loop": { status: 302, location: "/loop" },
    });
    expect(await check(`http://127.0.0.1:${port}/away`)).toEqual({ ready: false, lastAnswer: `${NOT_PASSED}: redirect to another host (HTTP 301)` });
    expect(await check(`http://127.0.0.1:${port}/elsewhere`)).toEqual({ ready: false, lastAnswer: `${NOT_PASSED}: redirect to another host (HTTP 307)` });
    expect(await check(`http://127.0.0.1:${port}/loop`)).toEqual({ ready: false, lastAnswer: `${NOT_PASSED}: more than 5 redirects` });
    expect(seen.filter(({ path }) => path === "/loop")).toHaveLength(6);
  });

  it("refuses link-local and metadata addresses, written as addresses or names, without connecting", async () => {
    for (const url of [
      "http://169.254.169.254/latest/meta-data/",
      "http://169.254.1.1:8080/",
      "http://[fe80::1]/",
      "http://[fd00:ec2::254]/",
      "http://[::ffff:169.254.169.254]/",
      "http://metadata.google.internal/computeMetadata/v1/",
    ]) {
      expect(await check(url), url).toEqual({ ready: false, lastAnswer: `${NOT_PASSED}: address not allowed (link-local or cloud metadata)` });
    }
    expect(["10.0.0.1", "127.0.0.1", "::1", "192.168.1.1"].some(isRefusedAddress)).toBe(false);
  });

  it("checks the address a name resolves to, and connects to that very address", async () => {
    const { port, seen } = await serve({ "/healthz": { status: 200 } });
    const probe = createReadinessProbe(resolving({ "preview.test": "127.0.0.1", "rebound.test": "169.254.169.254" }));
    expect(await check(`http://preview.test:${port}/healthz`, probe)).toEqual({ ready: true });
    expect(seen).toEqual([{ path: "/healthz", host: `preview.test:${port}` }]);
    expect(await check(`http://rebound.test:${port}/healthz`, probe)).toEqual({ ready: false, lastAnswer: `${NOT_PASSED}: address not allowed (link-local or cloud metadata)` });
    expect(seen).toHaveLength(1);
  });

  it("checks the URL once {{url}} is filled in: http(s), a host, no credentials", async () => {
    const { port, seen } = await serve({ "/healthz": { status: 200 } });
    const invalid = { ready: false, lastAnswer: `${NOT_PASSED}: the URL is not http(s) with a host and without credentials` };
    expect(await check("{{url}}/healthz", undefined, "file:///etc/passwd#")).toEqual(invalid);
    expect(await check("{{url}}/healthz", undefined, `http://admin:s3cret@127.0.0.1:${port}`)).toEqual(invalid);
    expect(await check("{{url}}/healthz", undefined, "not a url")).toEqual(invalid);
    expect(seen).toEqual([]);
    expect(await check("{{url}}/healthz", undefined, `http://127.0.0.1:${port}`)).toEqual({ ready: true });
  });

  it("shows the PR the class of a failure only: no address, no host, no body", async () => {
    const { port } = await serve({ "/secret": { status: 500, body: "db at 10.1.2.3 down" } });
    const closed = await freePort();
    const answers = [
      await check(`http://127.0.0.1:${port}/secret`),
      await check(`http://127.0.0.1:${closed}/healthz`),
      await check("http://no-such-host.invalid/healthz"),
    ];
    expect(answers).toEqual([
      { ready: false, lastAnswer: `${NOT_PASSED}: HTTP 500` },
      { ready: false, lastAnswer: `${NOT_PASSED}: connection refused` },
      { ready: false, lastAnswer: `${NOT_PASSED}: host not found` },
    ]);
  });
});
