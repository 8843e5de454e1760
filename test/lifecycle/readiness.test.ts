import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReadinessProbe, type ReadinessProbe } from "../../src/lifecycle/readiness-probe.js";
import { waitFor } from "../helpers/wait-for.js";
import { openIntent } from "./harness.js";
import { makeWorld, type World } from "./world.js";

/**
 * Readiness against a local HTTP server: `ready` and the URL only once the
 * check passes; a check that never passes makes the environment `failed`
 * with its last answer.
 */

const SHA = "c".repeat(40);
let world: World | undefined;
let server: Server | undefined;

afterEach(async () => {
  await world?.dispose();
  world = undefined;
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** Answers `/healthz` with the statuses given, one per request, the last one forever after. */
async function healthServer(statuses: number[]): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  server = createServer((request, response) => {
    const status = statuses[Math.min(requests, statuses.length - 1)] ?? 500;
    requests += request.url === "/healthz" ? 1 : 0;
    response.writeHead(request.url === "/healthz" ? status : 404).end();
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests: () => requests };
}

function template(url: string, readiness: object) {
  return {
    templates: {
      default: { steps: [{ name: "deploy", run: "./step.sh deploy", env: { URL: url } }], readiness },
    },
  };
}

describe("readiness", () => {
  it("keeps a 404 out of ready, and fails with the check's last answer after its timeout", async () => {
    const health = await healthServer([404]);
    world = await makeWorld({ config: template(health.url, { url: "{{url}}/healthz", timeout: "2s", interval: "1s" }) });
    const key = { repoId: 301, pr: 1 };
    await world.lifecycle.record(key, openIntent(SHA));
    world.reconciler.start();
    const failed = await world.until(key, "failed", (fields) => fields.status === "failed");
    // The class of the answer only: never the address the check reached.
    expect(failed.artifacts?.error).toEqual({ step: "readiness", message: "readiness check did not pass: HTTP 404" });
    expect(failed.artifacts?.url).toBeUndefined();
    expect(health.requests()).toBeGreaterThanOrEqual(2);
    expect(world.notifier.notices.some((notice) => notice.fields.status === "ready")).toBe(false);
  });

  it("publishes the URL only once the check passes, through the injected probe", async () => {
    const health = await healthServer([503, 503, 200]);
    const fetched: string[] = [];
    const probe = createReadinessProbe();
    const readinessProbe: ReadinessProbe = (url, signal) => {
      fetched.push(url.href);
      return probe(url, signal);
    };
    world = await makeWorld({ readinessProbe, config: template(health.url, { url: "{{url}}/healthz", timeout: "10s", interval: "1s" }) });
    const key = { repoId: 302, pr: 2 };
    await world.lifecycle.record(key, openIntent(SHA));
    world.reconciler.start();
    const ready = await world.until(key, "ready", (fields) => fields.status === "ready");
    expect(ready.artifacts?.url).toBe(health.url);
    expect(fetched).toEqual(Array(3).fill(`${health.url}/healthz`));
    const beforeReady = world.notifier.notices.filter((notice) => notice.fields.status !== "ready");
    expect(beforeReady.every((notice) => notice.fields.artifacts?.url === undefined)).toBe(true);
  });

  it("runs a command check until it exits 0", async () => {
    world = await makeWorld({
      // Each try leaves a line in `tries`, so the test knows the check ran and did not pass.
      config: {
        templates: {
          default: { steps: [{ name: "deploy", run: "./step.sh deploy" }], readiness: { run: "echo >> tries && test -f ./ready-flag", timeout: "10s", interval: "1s" } },
        },
      },
    });
    const key = { repoId: 303, pr: 3 };
    const triesFile = join(world.ws.dir, "tries");
    const tries = () => (existsSync(triesFile) ? readFileSync(triesFile, "utf8").split("\n").length - 1 : 0);
    await world.lifecycle.record(key, openIntent(SHA));
    world.reconciler.start();
    await world.until(key, "provisioned", (fields) => fields.checkpoints?.deploy !== undefined);
    await waitFor(() => tries() >= 2, "two tries of the check");
    expect((await world.store.load(key))?.fields.status).toBe("provisioning");
    writeFileSync(join(world.ws.dir, "ready-flag"), "");
    await world.until(key, "ready", (fields) => fields.status === "ready");
  });
});
