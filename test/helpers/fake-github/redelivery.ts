import type { FakeDelivery } from "./model.js";
import { deliveryStatus, type FakeState } from "./state.js";

export type RedeliverHook = (delivery: FakeDelivery) => Promise<number> | number;

/**
 * Redeliveries as GitHub runs them: after `POST …/attempts` has answered 202,
 * the delivery is sent again (through the test's hook, if any) and the attempt
 * is listed as a new delivery with the same guid and `redelivery: true`.
 */
export class Redeliveries {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly state: FakeState,
    private readonly hook: RedeliverHook | undefined,
  ) {}

  start(original: FakeDelivery): void {
    const run = this.run(original);
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }

  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending);
  }

  private async run(original: FakeDelivery): Promise<void> {
    const started = Date.now();
    let statusCode: number;
    try {
      statusCode = this.hook ? await this.hook(original) : 200;
    } catch {
      statusCode = 502; // the app could not be reached
    }
    const { guid, event, action, installation_id, repository_id, payload } = original;
    this.state.addDelivery({
      guid,
      event,
      action,
      installation_id,
      repository_id,
      payload,
      redelivery: true,
      status: deliveryStatus(statusCode),
      status_code: statusCode,
      duration: (Date.now() - started) / 1000,
    });
  }
}
