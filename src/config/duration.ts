/**
 * Durations as people write them in configs and in `/preview extend`:
 * `30m`, `4h`, `2d`, `1h30m`, `1d 12h`. One or more `<whole number><unit>`
 * groups, units largest first and each at most once (so a typo such as
 * `30m1h` or `1h1h` is reported rather than summed), case-insensitive,
 * whitespace allowed between groups so `formatDuration`'s own output reads
 * back.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Largest first: the order `parseDuration` requires and `formatDuration` writes. */
const UNITS: ReadonlyArray<readonly [unit: string, ms: number]> = [
  ["w", WEEK],
  ["d", DAY],
  ["h", HOUR],
  ["m", MINUTE],
  ["s", SECOND],
];

/**
 * Ten years. Anything longer is a typo, and keeping well inside both
 * `Number.MAX_SAFE_INTEGER` and the `Date` range means `now + duration`
 * is always a valid timestamp.
 */
export const MAX_DURATION_MS = 3650 * DAY;

export const DURATION_EXAMPLES = "30m, 4h, 2d, 1h30m";

/** Longer input is junk; the bound also keeps the quoted input in messages short. */
const MAX_INPUT_LENGTH = 40;

const GROUP = /\s*(\d+)\s*([a-z]+)\s*/iy;

export class InvalidDurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidDurationError";
  }
}

/** Milliseconds in `text`; throws `InvalidDurationError` with a message that quotes the input. */
export function parseDuration(text: string): number {
  const quoted = quote(text);
  const notADuration = new InvalidDurationError(`${quoted} is not a duration (examples: ${DURATION_EXAMPLES})`);
  if (text.length > MAX_INPUT_LENGTH || text.trim() === "") throw notADuration;

  let total = 0;
  let nextUnit = 0;
  GROUP.lastIndex = 0;
  while (GROUP.lastIndex < text.length) {
    const match = GROUP.exec(text);
    if (match === null) throw notADuration;
    const [, digits = "", unitText = ""] = match;
    const index = UNITS.findIndex(([name]) => name === unitText.toLowerCase());
    const unit = UNITS[index];
    // Unknown, or not smaller than the unit before it (repeated or out of order).
    if (unit === undefined || index < nextUnit) throw notADuration;
    nextUnit = index + 1;
    total += Number(digits) * unit[1];
  }
  if (total === 0) throw new InvalidDurationError(`${quoted} is zero: a duration must be longer (examples: ${DURATION_EXAMPLES})`);
  if (total > MAX_DURATION_MS) throw new InvalidDurationError(`${quoted} is too long: at most ${formatDuration(MAX_DURATION_MS)}`);
  return total;
}

/** `5_400_000` → `"1h 30m"`: exact to the second, in days, hours, minutes and seconds. */
export function formatDuration(ms: number): string {
  let rest = Math.round(Math.abs(ms) / SECOND) * SECOND;
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    // Weeks are for writing; "9d" reads better than "1w 2d".
    if (size === WEEK) continue;
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count}${unit}`);
  }
  const text = parts.length > 0 ? parts.join(" ") : "0s";
  return ms < 0 ? `-${text}` : text;
}

/**
 * A signed offset from now for people: `"in 3h 20m"`, `"2m ago"`, `"in 1d 4h"`,
 * `"just now"`. Rounded to the minute, and to the hour from a day away,
 * because seconds are noise in a PR comment.
 */
export function formatRelative(ms: number): string {
  const size = Math.abs(ms) >= DAY ? HOUR : MINUTE;
  const rounded = Math.round(Math.abs(ms) / size) * size;
  if (rounded === 0) return "just now";
  const text = formatDuration(rounded);
  return ms > 0 ? `in ${text}` : `${text} ago`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_INPUT_LENGTH ? `${text.slice(0, MAX_INPUT_LENGTH)}…` : text);
}
