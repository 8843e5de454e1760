import type { OutputsByStep } from "../lifecycle/provider.js";

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
    const text = maskSecrets(this.buffer.toString("utf8"), this.secrets);
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

/** `text` with every one of `secrets` (as `secretValues` orders them) replaced by `***`. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) masked = masked.replaceAll(secret, MASK);
  return masked;
}

/**
 * The values to mask: the provider secrets of earlier steps and `more` (the
 * step's own secret variables). Longest first: a secret that contains
 * another (a URL with its password) is hidden whole.
 */
export function secretValues(secrets: OutputsByStep, more: readonly string[] = []): string[] {
  return Object.values(secrets)
    .flatMap((values) => Object.values(values))
    .concat(more)
    .filter((value) => value !== "")
    .sort((a, b) => b.length - a.length);
}
