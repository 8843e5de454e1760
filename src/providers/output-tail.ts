import type { OutputsByStep } from "./provider.js";

const MASK = "***";

/**
 * The last `limit` bytes of a step's output with the values of secrets
 * masked. When the window begins inside a secret, the visible end of that
 * secret is dropped too.
 */
export class OutputTail {
  private buffer = Buffer.alloc(0);
  private truncated = false;

  constructor(
    private readonly limit: number,
    private readonly secrets: readonly string[],
  ) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > this.limit) {
      this.buffer = this.buffer.subarray(this.buffer.length - this.limit);
      this.truncated = true;
    }
  }

  text(): string {
    let text = this.buffer.toString("utf8");
    for (const secret of this.secrets) text = text.replaceAll(secret, MASK);
    if (!this.truncated) return text;
    const cut = Math.max(0, ...this.secrets.map((secret) => endOverlap(secret, text)));
    return `[…]${text.slice(cut)}`;
  }
}

/** The length of the longest proper suffix of `secret` that `text` starts with. */
function endOverlap(secret: string, text: string): number {
  for (let length = secret.length - 1; length > 0; length -= 1) {
    if (text.startsWith(secret.slice(-length))) return length;
  }
  return 0;
}

/** Longest first: a secret that contains another (a URL with its password) is hidden whole. */
export function secretValues(secrets: OutputsByStep): string[] {
  return Object.values(secrets)
    .flatMap((values) => Object.values(values))
    .filter((value) => value !== "")
    .sort((a, b) => b.length - a.length);
}
