import { readChaosOptions } from "./chaos-options.js";
import { figuresTable, nonZeroFigures } from "./figures.js";
import { runChaos } from "./run-chaos.js";

/**
 * `npm run test:chaos [-- --lives=300 --killIntervalSeconds=10 …]`: the long
 * chaos run. Prints the table; exits 1 when a figure that must be 0 is not,
 * or when the run did not converge.
 */
const options = readChaosOptions(process.argv.slice(2), process.env);
console.log(`chaos run: ${JSON.stringify(options)}`);
const report = await runChaos(options, (line) => console.log(line));
console.log(figuresTable(report.figures));
const failing = nonZeroFigures(report.figures);
if (!report.converged) console.log("NOT CONVERGED: the figures describe the state when the wait ended");
if (Object.keys(failing).length > 0) console.log(`non-zero, and why:\n${JSON.stringify(report.offenders, null, 2)}`);
process.exitCode = report.converged && Object.keys(failing).length === 0 ? 0 : 1;
