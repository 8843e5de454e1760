import { redactText, redactValue } from "../read-model/redact.js";
import { startProgress, type Progress, type TtySink } from "./progress.js";

/**
 * Everything the CLI prints goes through here: the answer on stdout (a table,
 * lines, JSON), notes and errors on stderr, so `--json` output pipes clean.
 * Each text passes `redactText` on its way out: commands redact what they
 * render, and this is the net under them.
 */
export class Output {
  constructor(
    private readonly stdout: TtySink,
    private readonly stderr: TtySink,
  ) {}

  /** One line of the answer. */
  print(text = ""): void {
    this.stdout.write(`${redactText(text)}\n`);
  }

  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(redactValue(value), null, 2)}\n`);
  }

  /** Columns padded to their widest cell (as printed: redacted); the last one is not padded. */
  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    const cells = [header, ...rows].map((row) => row.map(redactText));
    const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
    for (const row of cells) {
      this.print(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd());
    }
  }

  /** Something about the run that is not the answer: what was skipped, what to do next. */
  note(text: string): void {
    this.stderr.write(`${redactText(text)}\n`);
  }

  /** Raw text for stderr (the log stream), redacted. */
  log(text: string): void {
    this.stderr.write(redactText(text));
  }

  progress(label: string, total?: number): Progress {
    return startProgress(this.stderr, label, total);
  }
}
