/** Polls `check` until it holds; fails with `describe()` (e.g. the app's output) after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, describe: () => string = () => "", timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
