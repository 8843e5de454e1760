type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Polls `probe` until it returns something truthy, and returns that (a probe
 * can hand back what it read). After `timeoutMs` it fails with `describe`:
 * what was awaited, or a function giving more (e.g. the app's output), read
 * only then. A probe that throws fails at once: it knows waiting is futile
 * (the process it waits on exited).
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  describe: string | (() => string) = "",
  timeoutMs = 20_000,
  intervalMs = 20,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${typeof describe === "string" ? describe : describe()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
