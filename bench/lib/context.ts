import type { Figure } from "./figures.js";
import type { BenchOptions } from "./options.js";

/** What every scenario gets from the runner. */
export interface BenchContext {
  options: BenchOptions;
  /** A directory of this run's own (logs, data files, configs); removed at the end. */
  workDir: string;
  /** CPU profiles go here when `--profile` is given. */
  profileDir: string | undefined;
  /** One progress line on stderr. */
  progress(message: string): void;
  /** Registers what must be undone however the run ends (last registered, first run). */
  defer(cleanup: () => Promise<void> | void): void;
}

export interface ScenarioResult {
  figures: Figure[];
  /** Everything else measured, for bench/results.json. */
  details: Record<string, unknown>;
  /** Why the scenario could not run here (it then has no figures). */
  skipped?: string;
}
