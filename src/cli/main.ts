import { configProblem } from "../runtime.js";
import { loadDotEnv } from "../config/private-file.js";
import { runCli } from "./run-cli.js";

/** `npx ephemera …`: the process entry (see run-cli.ts for the commands). */

// As for the server: the store's files are the operator's alone, and a .env file helps unless others can read it.
process.umask(0o077);
try {
  loadDotEnv();
} catch (error) {
  process.stderr.write(`ephemera: ${configProblem(error) ?? String(error)}\n`);
  process.exit(1);
}

// The first Ctrl-C stops the steps this process runs (another worker resumes them); a second one quits at once.
const interrupted = new AbortController();
process.once("SIGINT", () => {
  process.stderr.write("ephemera: stopping (Ctrl-C again to quit at once)\n");
  interrupted.abort();
});

const code = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: interrupted.signal });
process.exitCode = interrupted.signal.aborted ? 130 : code;
