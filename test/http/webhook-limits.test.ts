import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { spawnApp, type AppProcess } from "../helpers/app-process.js";
import { pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { waitFor } from "../helpers/wait-for.js";
import { examplePayload, sign } from "../helpers/webhooks.js";

/**
 * The webhook path's edges, against the real server process (src/main.ts,
 * the embedded store): what anyone who can reach the webhook URL can send
 * before a signature is checked. Bodies are streamed for real, and the
 * server's memory is read from /proc.
 */

const MB = 1024 * 1024;
const credentials = testAppCredentials();
const SCENARIO: PrScenario = { repoId: 6161, owner: "octo", name: "edges", installationId: 61, pr: 7 };
/** Probot's path: an event the intake does not take, and a comment that is no command, so no GitHub call follows. */
const PROBOT_EVENT = "issue_comment";

interface Outcome {
  /** The answer's status, when one came before the connection closed. */
  status?: number;
  /** Bytes of the body written before the answer or the close. */
  sent: number;
  ms: number;
}

/**
 * POSTs `size` bytes to the webhook path, written 64 KB at a time as the
 * socket drains, with a Content-Length or chunked; stops writing as soon as
 * the server answers or closes. `body` is used as is when given.
 */
function post(app: AppProcess, options: { event: string; size: number; chunked: boolean; body?: Buffer; signature?: string; path?: string }): Promise<Outcome> {
  const started = performance.now();
  const body = options.body;
  const size = body?.length ?? options.size;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": options.event,
    "x-github-delivery": randomUUID(),
    "x-hub-signature-256": options.signature ?? `sha256=${"0".repeat(64)}`,
  };
  if (!options.chunked) headers["content-length"] = String(size);
  return new Promise((resolve) => {
    let sent = 0;
    let status: number | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve({ status, sent, ms: performance.now() - started });
    };
    const req = request({ host: "127.0.0.1", port: app.port, method: "POST", path: options.path ?? "/api/github/webhooks", headers, agent: false });
    req.on("response", (res) => {
      status = res.statusCode;
      res.resume().on("end", finish).on("error", finish);
      req.destroy();
    });
    req.on("error", finish);
    req.on("close", finish);
    const filler = Buffer.alloc(64 * 1024, "x");
    const write = () => {
      while (!done && status === undefined && sent < size) {
        const chunk = body ? body.subarray(sent, sent + filler.length) : filler.subarray(0, Math.min(filler.length, size - sent));
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", write);
      }
      if (sent >= size && !done) req.end();
    };
    write();
  });
}

function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/** A signed pull_request delivery padded to about `size` bytes with a long PR description. */
function paddedPush(size: number): { body: Buffer; signature: string } {
  const payload = pullRequestEvent(SCENARIO, "synchronize", { sha: "a".repeat(40), at: new Date() });
  const base = JSON.stringify(payload).length;
  payload.pull_request.body = "x".repeat(size - base - 2);
  const text = JSON.stringify(payload);
  return { body: Buffer.from(text), signature: sign(text, credentials.WEBHOOK_SECRET) };
}

describe("the webhook path's edges, in the real server process", () => {
  let app: AppProcess;

  beforeAll(async () => {
    // Nothing here reaches GitHub: a closed port refuses at once.
    app = await spawnApp({ env: { ...credentials, GHE_HOST: "127.0.0.1:1", GHE_PROTOCOL: "http" } });
  }, 30_000);
  afterAll(async () => {
    await app?.dispose();
  });

  it("refuses six concurrent 40 MB unsigned bodies with 413 within 5 s, its memory growing less than 64 MB", async () => {
    const pid = app.child.pid as number;
    const before = memoryOf(pid);
    // Resets VmHWM to the current RSS (Linux), so the peak read after is the attack's.
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    const events = ["pull_request", "pull_request", "pull_request", PROBOT_EVENT, PROBOT_EVENT, PROBOT_EVENT];
    const outcomes = await Promise.all(events.map((event) => post(app, { event, size: 40 * MB, chunked: false })));
    const after = memoryOf(pid);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe(413);
      expect(outcome.ms).toBeLessThan(5_000);
    }
    expect(after.peakMb - before.rssMb, `RSS ${before.rssMb.toFixed(0)} MB before, peak ${after.peakMb.toFixed(0)} MB during`).toBeLessThan(64);
    console.log(`six 40 MB bodies: RSS ${before.rssMb.toFixed(1)} MB before, peak ${after.peakMb.toFixed(1)} MB during; slowest refusal ${Math.max(...outcomes.map((o) => o.ms)).toFixed(0)} ms`);
  }, 30_000);

  it("aborts a chunked body once it passes the 25 MB cap, on both paths", async () => {
    for (const event of ["pull_request", PROBOT_EVENT]) {
      const outcome = await post(app, { event, size: 40 * MB, chunked: true });
      // The answer is 413, unless the close reached the client first; never the 400 a fully read unsigned body gets.
      if (outcome.status !== undefined) expect(outcome.status, event).toBe(413);
      expect(outcome.sent, event).toBeLessThan(40 * MB);
    }
  }, 30_000);

  it("caps the webhook path however it is spelled (Probot's router normalises //, /./ and a trailing slash), and any other POST", async () => {
    for (const path of ["/api/github/webhooks//", "/api/github/./webhooks", "/api/github/webhooks/", "/elsewhere"]) {
      for (const chunked of [true, false]) {
        const outcome = await post(app, { event: PROBOT_EVENT, size: 40 * MB, chunked, path });
        // 413, or 503 while earlier refused bodies still count as in flight (each holds its share until its connection closes).
        if (outcome.status !== undefined) expect([413, 503], path).toContain(outcome.status);
        expect(outcome.sent, path).toBeLessThan(40 * MB);
      }
    }
    // Refused bodies count as in flight until their connections close, a second later: the next test needs that budget back.
    await waitFor(async () => (await post(app, { event: PROBOT_EVENT, size: 1024, chunked: true, path: "/elsewhere" })).status !== 503, "a small body taken again", 10_000);
  }, 60_000);

  it("still takes a signed 24 MB delivery, with a length or chunked, on both paths", async () => {
    const push = paddedPush(24 * MB);
    expect((await post(app, { event: "pull_request", size: 0, chunked: false, ...push })).status, app.output()).toBe(200);
    expect((await post(app, { event: "pull_request", size: 0, chunked: true, ...push })).status, app.output()).toBe(200);
    const comment = { ...examplePayload("issue_comment", "created"), installation: { id: SCENARIO.installationId }, padding: "x".repeat(24 * MB) };
    const text = JSON.stringify(comment);
    const signed = { body: Buffer.from(text), signature: sign(text, credentials.WEBHOOK_SECRET) };
    expect((await post(app, { event: PROBOT_EVENT, size: 0, chunked: false, ...signed })).status, app.output()).toBe(200);
    expect((await post(app, { event: PROBOT_EVENT, size: 0, chunked: true, ...signed })).status, app.output()).toBe(200);
  }, 60_000);

  it("answers /healthz in under a second while 300 connections send their headers slowly, and closes those within the 10 s header timeout", async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    const drip = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write("x");
    }, 500);
    try {
      for (let i = 0; i < 300; i++) {
        const socket = connect(app.port, "127.0.0.1");
        socket.on("error", () => undefined);
        socket.on("close", () => closed++);
        socket.write("POST /api/github/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
        sockets.push(socket);
      }
      await waitFor(() => sockets.every((socket) => socket.readyState === "open"));
      const opened = performance.now();
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const response = await fetch(app.url("/healthz"), { signal: AbortSignal.timeout(1_000) });
        expect(response.status).toBe(200);
        expect(performance.now() - started).toBeLessThan(1_000);
      }
      await waitFor(() => closed === 300, () => `${closed} of 300 slow connections closed`, 15_000);
      console.log(`300 slow-header connections closed by the server after ${((performance.now() - opened) / 1000).toFixed(1)} s`);
    } finally {
      clearInterval(drip);
      for (const socket of sockets) socket.destroy();
    }
  }, 30_000);
});
