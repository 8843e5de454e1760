/**
 * The GitHub Actions output file format: `name=value` lines, and
 * `name<<DELIMITER` … `DELIMITER` for multi-line values. Blank lines are
 * skipped; a later value for the same name wins.
 */
export function parseOutputFile(text: string): Record<string, string> {
  // Outputs become later steps' variables, which cannot hold a NUL: refuse it here, where it is the step's mistake.
  const nul = text.indexOf("\0");
  if (nul >= 0) throw new Error(`line ${text.slice(0, nul).split("\n").length}: a NUL byte, which no value may hold`);
  const outputs = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? "";
    if (line === "") continue;
    const equals = line.indexOf("=");
    const heredoc = line.indexOf("<<");
    if (equals > 0 && (heredoc < 0 || equals < heredoc)) {
      outputs.set(line.slice(0, equals), line.slice(equals + 1));
      continue;
    }
    const delimiter = line.slice(heredoc + 2);
    if (heredoc <= 0 || delimiter === "") throw new Error(`line ${index + 1}: expected "name=value" or "name<<DELIMITER"`);
    const end = lines.indexOf(delimiter, index + 1);
    if (end < 0) throw new Error(`line ${index + 1}: no closing "${delimiter}" line`);
    outputs.set(line.slice(0, heredoc), lines.slice(index + 1, end).join("\n"));
    index = end;
  }
  // A Map then `fromEntries`, so a name like `__proto__` is only a name.
  return Object.fromEntries(outputs);
}
