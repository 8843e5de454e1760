import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { EnvError } from "./env.js";

/** Bits that let anyone but the owner read or change a file. */
const OPEN_TO_OTHERS = 0o077;

/**
 * Refuses a secret file (the App's key, `.env`) that other users can read:
 * a step's uid, or anyone else on the machine, would have the App's
 * credentials. The error names the file and the command that fixes it, as
 * `ssh` does for a key left open.
 */
export function assertPrivateFile(path: string, label: string): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & OPEN_TO_OTHERS) === 0) return;
  throw new EnvError([
    `${label} ${path} can be read by other users (mode ${mode.toString(8).padStart(4, "0")}): run \`chmod 600 ${path}\``,
  ]);
}

/**
 * Loads `.env` from the working directory, if there is one, after checking
 * that only its owner can read it. Variables already set in the environment
 * win over it.
 */
export function loadDotEnv(path = ".env"): void {
  if (!existsSync(path)) return;
  assertPrivateFile(resolve(path), "the .env file");
  process.loadEnvFile(path);
}
