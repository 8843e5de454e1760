import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

interface ExampleSet {
  name: string;
  actions: string[];
  examples: Array<Record<string, unknown>>;
}

/** Real payloads from @octokit/webhooks-examples, by event and action. */
export function examplePayload(event: string, action?: string): Record<string, any> {
  const sets = require("@octokit/webhooks-examples/api.github.com/index.json") as ExampleSet[];
  const set = sets.find((candidate) => candidate.name === event);
  const example = set?.examples.find((candidate) => action === undefined || candidate.action === action);
  if (!example) throw new Error(`no example payload for ${event}.${action}`);
  return structuredClone(example);
}

export function sign(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Posts a webhook as GitHub does; `signature` overrides (or, with null, omits) the real one. */
export async function deliver(
  url: string,
  event: string,
  payload: object,
  options: { secret: string; deliveryId?: string; signature?: string | null; signal?: AbortSignal },
): Promise<Response> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": options.deliveryId ?? randomUUID(),
    "user-agent": "GitHub-Hookshot/test",
  };
  const signature = options.signature === undefined ? sign(body, options.secret) : options.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  return fetch(url, { method: "POST", headers, body, ...(options.signal && { signal: options.signal }) });
}
