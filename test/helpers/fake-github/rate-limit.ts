import type { Caller } from "./auth.js";

export interface RateWindow {
  limit: number;
  remaining: number;
  /** Epoch seconds at which the window refills. */
  reset: number;
  used: number;
}

/**
 * GitHub's primary rate limit, one hourly window per installation (and one
 * for the App itself, one for anonymous callers), as the `x-ratelimit-*`
 * headers report it. A window that runs dry answers 403 like GitHub does.
 */
export class RateLimits {
  private readonly windows = new Map<string, RateWindow>();

  constructor(
    private readonly limit: number,
    private readonly now: () => Date,
  ) {}

  static bucket(caller: Caller): string {
    return caller.kind === "installation" ? `installation:${caller.installationId}` : caller.kind;
  }

  /** The caller's current window, refilled when its hour has passed. */
  window(bucket: string): RateWindow {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    let window = this.windows.get(bucket);
    if (!window || window.reset <= nowSeconds) {
      window = { limit: this.limit, remaining: this.limit, reset: nowSeconds + 3600, used: 0 };
      this.windows.set(bucket, window);
    }
    return window;
  }

  /** Counts one request; false when the window had nothing left. */
  consume(bucket: string): boolean {
    const window = this.window(bucket);
    if (window.remaining === 0) return false;
    window.remaining -= 1;
    window.used += 1;
    return true;
  }

  /** Sets what is left, e.g. to 0 to let the next request hit the limit for real. */
  setRemaining(bucket: string, remaining: number): void {
    const window = this.window(bucket);
    window.remaining = remaining;
    window.used = window.limit - remaining;
  }

  static headers(window: RateWindow): Record<string, string> {
    return {
      "x-ratelimit-limit": String(window.limit),
      "x-ratelimit-remaining": String(window.remaining),
      "x-ratelimit-reset": String(window.reset),
      "x-ratelimit-used": String(window.used),
      "x-ratelimit-resource": "core",
    };
  }
}
