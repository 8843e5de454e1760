import { round } from "./stats.js";

/** A goal from the issue, and whether this run met it. */
export interface Goal {
  text: string;
  met: boolean;
}

/**
 * One line of the table: Ephemera's figure (the median of its rounds), the
 * floor it is compared with, and the goal. `ratio` is value / floor.
 */
export interface Figure {
  scenario: string;
  figure: string;
  unit: string;
  value: number;
  /** What the same work costs at the floor; null where the figure has none. */
  floor: number | null;
  ratio: number | null;
  /** Null for a figure reported to explain another (no goal of its own). */
  goal: Goal | null;
  /** Ephemera's value in each round, and the floor's, when there were rounds. */
  rounds?: number[];
  floorRounds?: number[];
  note?: string;
}

export type FigureInput = Omit<Figure, "ratio">;

export function figure(input: FigureInput): Figure {
  const ratio = input.floor === null || input.floor === 0 ? null : input.value / input.floor;
  return {
    ...input,
    value: round(input.value),
    floor: input.floor === null ? null : round(input.floor),
    ratio: ratio === null ? null : round(ratio),
    ...(input.rounds ? { rounds: input.rounds.map((value) => round(value)) } : {}),
    ...(input.floorRounds ? { floorRounds: input.floorRounds.map((value) => round(value)) } : {}),
  };
}

/** A figure's number as the table shows it: at most 3 significant decimals, thousands grouped. */
export function formatNumber(value: number | null): string {
  if (value === null) return "—";
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

const COLUMNS = ["scenario", "figure", "Ephemera", "floor", "ratio", "goal", "met?"] as const;

/** The table the bench prints: one row per figure, columns padded to fit. */
export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.scenario,
    `${f.figure} (${f.unit})`,
    formatNumber(f.value),
    formatNumber(f.floor),
    f.ratio === null ? "—" : `${formatNumber(f.ratio)}×`,
    f.goal?.text ?? "(explains another)",
    f.goal === null ? "" : f.goal.met ? "yes" : "NO",
  ]);
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join(" | ").trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("-|-");
  return [line(COLUMNS), rule, ...rows.map(line)].join("\n");
}
