import { randomUUID } from "node:crypto";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import { deliver } from "../helpers/webhooks.js";
import type { Replicas } from "./replicas.js";

/**
 * GitHub's side of the webhooks in a chaos run: each delivery goes to a
 * random replica, signed. One refused (a non-2xx answer, a refused or cut
 * connection, no answer within GitHub's 10 s) is delivered again later with
 * the same `X-GitHub-Delivery`, as a redelivery from GitHub's deliveries API
 * would be; a share of the accepted ones is sent a second time (GitHub's
 * at-least-once).
 */
export interface Delivery {
  guid: string;
  event: string;
  payload: object;
  key: EnvKey;
  /** When it was first sent, ms. */
  firstSentAt: number;
  /** Answers in order: a status, or 0 for no answer. */
  answers: number[];
}

export interface Deliverer {
  readonly deliveries: readonly Delivery[];
  /** Sends a new delivery now; resolves with it once it was answered (or queued again). */
  send(event: string, payload: object, key: EnvKey): Promise<Delivery>;
  /** Redeliveries and duplicates still to go. */
  pending(): number;
  /** Sends what is due; call it in a loop. */
  tick(): Promise<void>;
}

const GITHUB_TIMEOUT_MS = 10_000;
const REDELIVER_AFTER_MS = [2_000, 6_000] as const;

const accepted = (status: number) => status >= 200 && status < 300;

export function createDeliverer(options: { replicas: Replicas; secret: string; random: () => number; duplicateShare: number }): Deliverer {
  const deliveries: Delivery[] = [];
  const queue: Array<{ delivery: Delivery; at: number }> = [];
  const later = () => Date.now() + REDELIVER_AFTER_MS[0] + options.random() * (REDELIVER_AFTER_MS[1] - REDELIVER_AFTER_MS[0]);

  async function attempt(delivery: Delivery, duplicate: boolean): Promise<void> {
    const replica = options.replicas.pick(options.random);
    let status = 0;
    try {
      const response = await deliver(options.replicas.webhookUrl(replica), delivery.event, delivery.payload, {
        secret: options.secret,
        deliveryId: delivery.guid,
        signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS),
      });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = 0;
    }
    delivery.answers.push(status);
    if (!accepted(status)) queue.push({ delivery, at: later() });
    else if (!duplicate && options.random() < options.duplicateShare) queue.push({ delivery, at: later() });
  }

  return {
    deliveries,
    async send(event, payload, key) {
      const delivery: Delivery = { guid: randomUUID(), event, payload, key, firstSentAt: Date.now(), answers: [] };
      deliveries.push(delivery);
      await attempt(delivery, false);
      return delivery;
    },
    pending: () => queue.length,
    async tick() {
      const now = Date.now();
      const due = queue.filter((item) => item.at <= now);
      for (const item of due) queue.splice(queue.indexOf(item), 1);
      await Promise.all(due.map((item) => attempt(item.delivery, item.delivery.answers.some(accepted))));
    },
  };
}

/** Whether GitHub would count the delivery as delivered (it never redelivers those by itself). */
export function wasAccepted(delivery: Delivery): boolean {
  return delivery.answers.some(accepted);
}
