import { existsSync } from "node:fs";
import { runCli } from "./run-cli.js";

/** `npx ephemera …`: the process entry (see run-cli.ts for the commands). */

// As for the server: a .env file helps, and variables already set in the environment win over it.
if (existsSync(".env")) process.loadEnvFile(".env");

// The first Ctrl-C stops the steps this process runs (another worker resumes them); a second one quits at once.
const interrupted = new AbortController();
process.once("SIGINT", () => {
  process.stderr.write("ephemera: stopping (Ctrl-C again to quit at once)\n");
  interrupted.abort();
});

const code = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, signal: interrupted.signal });
process.exitCode = interrupted.signal.aborted ? 130 : code;
