import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

/**
 * The floor of scenario 1: a bare `node:http` server that does what any
 * webhook receiver must, and nothing else. It verifies the same
 * `X-Hub-Signature-256` HMAC over the same body with the same secret, and
 * parses the same JSON, then answers 200 `ok` as Probot does. No framework,
 * no logging, no store. It runs as its own process (as Ephemera's server
 * does) so the load generator has the same core to itself in both runs.
 *
 * Env: PORT, HOST, WEBHOOK_SECRET.
 */

const secret = process.env.WEBHOOK_SECRET ?? "";
if (!secret) throw new Error("WEBHOOK_SECRET is required");

function verified(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  if (req.method !== "POST" || req.url !== "/api/github/webhooks") {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!verified(body, req.headers["x-hub-signature-256"])) {
      res.writeHead(400, { "content-type": "text/plain" }).end("signature does not match");
      return;
    }
    try {
      JSON.parse(body.toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "text/plain" }).end("not JSON");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});

server.listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1");
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  // Idle keep-alive connections would hold `close` open.
  server.closeAllConnections();
});
