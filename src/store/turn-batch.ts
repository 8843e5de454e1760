/**
 * Calls made in one turn of the event loop, run together at its end.
 *
 * Why: under a webhook storm every delivery records one intent, and each
 * record was its own Redis pipeline (one socket write, a syscall that cost
 * more than the rest of the record) or its own SQLite transaction (one
 * commit, one WAL write). The requests whose bodies arrive in the same turn
 * of the event loop are batched instead: the batch runs at `setImmediate`,
 * after the turn's I/O callbacks, so it waits for nothing but what is
 * already there. A webhook alone still makes exactly one round trip; under
 * load several share it.
 */

/** One call's outcome: each call succeeds or fails on its own. */
export type Outcome<R> = { value: R } | { error: unknown };

export class TurnBatch<T, R> {
  private pending: Array<{ item: T; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];

  /** `run` gets the batch in call order and returns one outcome per item, in the same order; if it throws, every call fails with that. */
  constructor(private readonly run: (items: T[]) => Promise<Array<Outcome<R>>> | Array<Outcome<R>>) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.pending.push({ item, resolve, reject }) === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    let outcomes: Array<Outcome<R>>;
    try {
      outcomes = await this.run(batch.map(({ item }) => item));
    } catch (error) {
      for (const call of batch) call.reject(error);
      return;
    }
    batch.forEach((call, i) => {
      const outcome = outcomes[i] ?? { error: new Error("a batched store call got no outcome") };
      if ("value" in outcome) call.resolve(outcome.value);
      else call.reject(outcome.error);
    });
  }
}
