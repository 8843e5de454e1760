import { statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The nearest directory on the way to `path` (itself excluded) that other
 * users cannot enter (no `o+x`), or undefined when a step uid can reach it.
 * A working directory under `/root` (0700) could be made but never entered.
 */
export function closedAncestor(path: string): string | undefined {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return dir;
    } catch {
      // Not made yet: made 0711 on the way.
    }
    if (dirname(dir) === dir) return undefined;
  }
}
