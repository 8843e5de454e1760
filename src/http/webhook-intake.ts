import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { declaredLength, readBodyWithin } from "./read-body.js";
import { WEBHOOK_BODIES_IN_FLIGHT_LIMIT_BYTES, WEBHOOK_BODY_LIMIT_BYTES } from "./server-limits.js";

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
/** How long a refused request's connection stays open for its client to read the answer. */
const REFUSED_LINGER_MS = 1_000;
const SIGNATURE_PREFIX = "sha256=";
/** `sha256=` and 64 hex digits. */
const SIGNATURE_LENGTH = SIGNATURE_PREFIX.length + 64;

/** Probot's answers, byte for byte (@octokit/webhooks' node middleware). */
const OK = { status: 200, type: "text/plain", body: "ok\n" };
const BAD_SIGNATURE = errorAnswer(400, "Error: [@octokit/webhooks] signature does not match event payload and secret");
const BAD_JSON = errorAnswer(400, "SyntaxError: Invalid JSON");
/** Ours: Probot has no cap. */
const TOO_LARGE = errorAnswer(413, "Payload Too Large: over GitHub's 25 MB webhook payload cap");
/** Ours: too many bodies in flight; GitHub marks the delivery failed and the redelivery job asks for it again. */
const BUSY = errorAnswer(503, "Service Unavailable: too many webhook bodies in flight, retry later");

/** A request the intake takes, known from its headers. */
interface Delivery {
  id: string;
  event: string;
  signature: string;
  byAction: Map<string, IntakeHandler>;
  started: number;
}

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

  /** Bytes of webhook bodies being received now, on both paths (a declared length, or the cap for a chunked body). */
  private inFlightBytes = 0;

  constructor(
    private readonly options: {
      secret: string;
      path: string;
      log: Logger;
      /** How many bytes of webhook bodies may be in flight at once; tests lower it. */
      bodiesInFlightLimit?: number;
    },
  ) {}

  /** Takes `event` deliveries with one of `actions` to `handler`; a taken event's other actions are answered 200 and dropped, as Probot does with no listener. */
  route<P>(event: string, actions: readonly string[], handler: IntakeHandler<P>): void {
    let byAction = this.routes.get(event);
    if (!byAction) this.routes.set(event, (byAction = new Map()));
    // The payload is GitHub's (its signature is checked) and taken to be the event's, as Probot's types take it.
    for (const action of actions) byAction.set(action, handler as IntakeHandler);
  }

  /**
   * Puts the intake in front of the server's own 'request' listeners
   * (Probot's): they see only what it does not take. Every POST, on the
   * webhook path or not, is held to GitHub's payload cap: a declared
   * length over it is answered 413 before a byte of the body is read, and a
   * body streamed without a length (chunked) is read here, up to the cap, and
   * handed on already read.
   */
  takeRequestsFirst(server: HttpServer): void {
    const behind = server.listeners("request") as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners("request");
    const handOn = (req: IncomingMessage, res: ServerResponse) => {
      for (const listener of behind) listener.call(server, req, res);
    };
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.receive(req, res, handOn));
  }

  private receive(req: IncomingMessage, res: ServerResponse, handOn: (req: IncomingMessage, res: ServerResponse) => void): void {
    // Every POST is held to the cap, not only the webhook path as spelled here: Probot's router normalises
    // paths (`//`, `/./`, an absolute URL) to the same handler, and would buffer any body it was handed.
    if (req.method !== "POST") return handOn(req, res);
    const declared = declaredLength(req);
    if (declared !== undefined && declared > WEBHOOK_BODY_LIMIT_BYTES) return this.refuse(req, res, TOO_LARGE);
    // The cap bounds one body; this bounds them all, however many connections send at once.
    const reserved = declared ?? WEBHOOK_BODY_LIMIT_BYTES;
    if (this.inFlightBytes + reserved > (this.options.bodiesInFlightLimit ?? WEBHOOK_BODIES_IN_FLIGHT_LIMIT_BYTES)) return this.refuse(req, res, BUSY);
    this.inFlightBytes += reserved;
    res.once("close", () => {
      this.inFlightBytes -= reserved;
    });
    const delivery = this.onPath(req.url) ? this.ours(req) : undefined;
    // Node frames a declared body by its length: Probot reads no more than was declared, and that is within the cap.
    if (delivery === undefined && declared !== undefined) return handOn(req, res);
    readBodyWithin(req, WEBHOOK_BODY_LIMIT_BYTES)
      .then(async (body) => {
        if (body === undefined) return this.refuse(req, res, TOO_LARGE);
        if (delivery !== undefined) return this.deliver(res, delivery, body);
        // @octokit/webhooks takes a body already read as `rawBody` (next to a parsed `body`, as body parsers leave it).
        Object.assign(req, { body: {}, rawBody: body });
        handOn(req, res);
      })
      .catch((error: unknown) => {
        if (req.destroyed && !res.headersSent) {
          // A client that went away mid-body: nothing was recorded and there is no one to answer.
          this.options.log.debug({ err: error, id: delivery?.id }, "webhook request aborted");
          return;
        }
        this.options.log.error({ err: error, id: delivery?.id }, "webhook intake failed");
        if (!res.headersSent) res.writeHead(500).end();
      });
  }

  /** The delivery, when the request is one the intake takes; decided on the request line and headers alone. */
  private ours(req: IncomingMessage): Delivery | undefined {
    const event = req.headers["x-github-event"];
    const byAction = typeof event === "string" ? this.routes.get(event) : undefined;
    if (byAction === undefined) return undefined;
    const id = req.headers["x-github-delivery"];
    const signature = req.headers["x-hub-signature-256"];
    const contentType = req.headers["content-type"];
    if (typeof id !== "string" || typeof signature !== "string" || contentType === undefined || !JSON_CONTENT.test(contentType)) return undefined;
    return { id, event: event as string, signature, byAction, started: performance.now() };
  }

  /**
   * A refusal (413, 503) before the body is read, and the connection closed a
   * moment later. Not at once: closing a socket the client is still writing
   * to resets the connection, and the client loses the answer it has not
   * read yet. So the whole answer is written (its length declared) but the
   * response ended only after the linger, which is when Node closes the
   * connection (`connection: close`). Meanwhile the rest of the body is left
   * unread: the client's writes wait, and the server spends nothing on them.
   */
  private refuse(req: IncomingMessage, res: ServerResponse, { status, type, body }: Answer): void {
    // Debug: GitHub never sends more than its cap, and a flood of refusals must not flood the log.
    this.options.log.debug({ status, length: req.headers["content-length"] }, "webhook body refused");
    if (!res.headersSent) res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), connection: "close" }).write(body);
    setTimeout(() => res.end(), REFUSED_LINGER_MS).unref();
  }

  private onPath(url: string | undefined): boolean {
    if (url === undefined) return false;
    const query = url.indexOf("?");
    const pathname = query === -1 ? url : url.slice(0, query);
    return pathname === this.options.path || pathname === `${this.options.path}/`;
  }

  private async deliver(res: ServerResponse, delivery: Delivery, body: Buffer): Promise<void> {
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
