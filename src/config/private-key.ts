import { createPrivateKey } from "node:crypto";
import { resolve } from "node:path";
import { getPrivateKey } from "@probot/get-private-key";
import { EnvError, type AppEnv } from "./env.js";
import { assertPrivateFile } from "./private-file.js";

/**
 * Reads the App's private key the way Probot does (PEM, `\n`-escaped PEM,
 * base64, or a file) and checks that it parses, so a bad key stops start-up
 * with one line instead of failing on the first GitHub call. A key file that
 * other users can read stops it too.
 */
export function loadPrivateKey(source: AppEnv["privateKey"], cwd = process.cwd()): string {
  const variable = "pem" in source ? "PRIVATE_KEY" : "PRIVATE_KEY_PATH";
  let pem: string | null;
  try {
    pem = getPrivateKey({
      cwd,
      env: "pem" in source ? { PRIVATE_KEY: source.pem } : { PRIVATE_KEY_PATH: source.path },
    });
  } catch {
    throw new EnvError([
      "pem" in source
        ? "PRIVATE_KEY is not a PEM private key (paste the .pem file's contents, or set PRIVATE_KEY_PATH)"
        : `PRIVATE_KEY_PATH: no file at ${source.path}`,
    ]);
  }
  if ("path" in source) assertPrivateFile(resolve(cwd, source.path), "PRIVATE_KEY_PATH");
  try {
    createPrivateKey(pem ?? "");
  } catch {
    throw new EnvError([`${variable} does not hold a valid private key`]);
  }
  return pem ?? "";
}
