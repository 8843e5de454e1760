/**
 * A one-line progress bar on stderr for long runs, drawn only when stderr is
 * a terminal: in a pipe, a log file or CI it would be noise (carriage
 * returns and escape codes), so there it draws nothing. Twenty lines of our
 * own rather than a dependency: that is all the CLI needs.
 */

export interface Progress {
  /** One more item done; `total` corrects the expected count once it is known. */
  tick(total?: number): void;
  /** Clears the line, so what follows starts clean. */
  done(): void;
}

export interface TtySink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const WIDTH = 24;
/** At most this often: redrawing per item would cost more than the work on a fast store. */
const REDRAW_MS = 80;

export function startProgress(stderr: TtySink, label: string, total?: number): Progress {
  if (stderr.isTTY !== true) return { tick: () => undefined, done: () => undefined };
  let count = 0;
  let expected = total;
  let drawnAt = 0;
  const draw = () => {
    drawnAt = Date.now();
    const counter = expected === undefined ? `${count}` : `${count}/${expected}`;
    const filled = expected ? Math.min(WIDTH, Math.round((count / expected) * WIDTH)) : 0;
    const bar = expected === undefined ? "" : ` [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}]`;
    stderr.write(`\r${label}${bar} ${counter}\x1b[K`);
  };
  draw();
  return {
    tick(newTotal) {
      count += 1;
      expected = newTotal ?? expected;
      if (Date.now() - drawnAt >= REDRAW_MS || count === expected) draw();
    },
    done: () => void stderr.write("\r\x1b[K"),
  };
}
