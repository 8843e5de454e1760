import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Logger } from "pino";

/**
 * A fast intake for the webhooks that only record an intent (`pull_request`),
 * in front of Probot.
 *
 * Why: Probot's receive path costs several times what the work does. For
 * every delivery it builds an installation Octokit with every plugin (its
 * `webhookTransform`), which the pull_request handlers never use, and its
 * Server logs a request line at `info` (pino-http, every header). A push
 * storm is mostly `pull_request.synchronize`, so this takes those deliveries
 * itself: read the body, verify `X-Hub-Signature-256`, `JSON.parse`, call the
 * same handler the app registers with Probot, answer as Probot answers.
 *
 * Why at the 'request' listener: Probot's Server runs its webhook
 * middleware first in its handler chain and calls pino-http before any
 * handler, so `addHandler` comes too late. The intake goes in front of the
 * server's own listener (`takeRequestsFirst`) and hands on, untouched,
 * every request it does not take: other events (`issue_comment` needs the
 * installation Octokit, `installation` events), other routes, and requests
 * whose headers Probot rejects (a missing header, a wrong content type), so
 * those answers stay exactly Probot's.
 */

/** What a handler gets: the parts of a Probot context the `pull_request` handlers use. */
export interface IntakeContext<P = { action?: unknown }> {
  id: string;
  name: string;
  payload: P;
  log: Logger;
}

export type IntakeHandler<P = { action?: unknown }> = (context: IntakeContext<P>) => Promise<void>;

/** The content types Probot's middleware accepts (any other gets its 415). */
const JSON_CONTENT = /^\s*(application\/json)\s*(?:;|$)/u;
const SIGNATURE_PREFIX = "sha256=";
/** `sha256=` and 64 hex digits. */
const SIGNATURE_LENGTH = SIGNATURE_PREFIX.length + 64;

/** Probot's answers, byte for byte (@octokit/webhooks' node middleware). */
const OK = { status: 200, type: "text/plain", body: "ok\n" };
const BAD_SIGNATURE = errorAnswer(400, "Error: [@octokit/webhooks] signature does not match event payload and secret");
const BAD_JSON = errorAnswer(400, "SyntaxError: Invalid JSON");

interface Answer {
  status: number;
  type: string;
  body: string;
}

function errorAnswer(status: number, error: string): Answer {
  return { status, type: "application/json", body: JSON.stringify({ error }) };
}

export class WebhookIntake {
  /** event → action → handler */
  private readonly routes = new Map<string, Map<string, IntakeHandler>>();

  constructor(private readonly options: { secret: string; path: string; log: Logger }) {}

  /** Takes `event` deliveries with one of `actions` to `handler`; a taken event's other actions are answered 200 and dropped, as Probot does with no listener. */
  route<P>(event: string, actions: readonly string[], handler: IntakeHandler<P>): void {
    let byAction = this.routes.get(event);
    if (!byAction) this.routes.set(event, (byAction = new Map()));
    // The payload is GitHub's (its signature is checked) and taken to be the event's, as Probot's types take it.
    for (const action of actions) byAction.set(action, handler as IntakeHandler);
  }

  /** Puts the intake in front of the server's own 'request' listeners (Probot's): they see only what it does not take. */
  takeRequestsFirst(server: HttpServer): void {
    const behind = server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners("request");
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (this.take(req, res)) return;
      for (const listener of behind) listener.call(server, req, res);
    });
  }

  /** Whether the request is ours; if so it is answered in due course. Decided on the request line and headers alone. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "POST") return false;
    const event = req.headers["x-github-event"];
    const byAction = typeof event === "string" ? this.routes.get(event) : undefined;
    if (byAction === undefined || !this.onPath(req.url)) return false;
    const id = req.headers["x-github-delivery"];
    const signature = req.headers["x-hub-signature-256"];
    const contentType = req.headers["content-type"];
    if (typeof id !== "string" || typeof signature !== "string" || contentType === undefined || !JSON_CONTENT.test(contentType)) return false;

    const started = performance.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      this.deliver(res, { id, event: event as string, signature, byAction, started }, Buffer.concat(chunks)).catch((error: unknown) => {
        this.options.log.error({ err: error, id }, "webhook intake failed");
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    // A client that goes away mid-body: nothing was recorded and there is no one to answer.
    req.on("error", (error) => this.options.log.debug({ err: error, id }, "webhook request aborted"));
    return true;
  }

  private onPath(url: string | undefined): boolean {
    if (url === undefined) return false;
    const query = url.indexOf("?");
    const pathname = query === -1 ? url : url.slice(0, query);
    return pathname === this.options.path || pathname === `${this.options.path}/`;
  }

  private async deliver(
    res: ServerResponse,
    delivery: { id: string; event: string; signature: string; byAction: Map<string, IntakeHandler>; started: number },
    body: Buffer,
  ): Promise<void> {
    const { id, event, byAction, started } = delivery;
    const { log } = this.options;
    if (!this.verified(body, delivery.signature)) {
      log.warn({ id, event }, "webhook signature does not match: check that WEBHOOK_SECRET is the App's webhook secret");
      return send(res, BAD_SIGNATURE);
    }
    let payload: IntakeContext["payload"];
    try {
      payload = JSON.parse(body.toString("utf8"));
      if (typeof payload !== "object" || payload === null) throw new SyntaxError("not an object");
    } catch {
      log.warn({ id, event }, "webhook body is not a JSON object");
      return send(res, BAD_JSON);
    }
    const action = typeof payload.action === "string" ? payload.action : undefined;
    const handler = action === undefined ? undefined : byAction.get(action);
    try {
      await handler?.({ id, name: event, payload, log: log.child({ name: "event", id }) });
    } catch (error) {
      // 500, as Probot answers a handler that throws: GitHub marks the delivery failed, and the redelivery job asks for it again.
      log.error({ err: error, id, event, action }, "webhook not recorded: answered 500, to be redelivered");
      const message = error instanceof Error ? `${error.name}: ${error.message}` : "Error: An Unspecified error occurred";
      return send(res, errorAnswer(500, message));
    }
    send(res, OK);
    // Debug, not info: a request line per delivery costs a storm more than the rest of its logging.
    if (log.isLevelEnabled("debug")) log.debug({ id, event, action, ms: Math.round(performance.now() - started) }, `${event}.${action} 200`);
  }

  /** HMAC-SHA256 of the raw body with the webhook secret, compared in constant time. */
  private verified(body: Buffer, signature: string): boolean {
    if (signature.length !== SIGNATURE_LENGTH || !signature.startsWith(SIGNATURE_PREFIX)) return false;
    // A non-hex digit ends the decoding early, so the lengths then differ.
    const given = Buffer.from(signature.slice(SIGNATURE_PREFIX.length), "hex");
    const expected = createHmac("sha256", this.options.secret).update(body).digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function send(res: ServerResponse, { status, type, body }: Answer): void {
  res.writeHead(status, { "content-type": type, accept: "application/json", "content-length": Buffer.byteLength(body) }).end(body);
}
