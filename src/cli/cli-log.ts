import { getTransformStream } from "@probot/pino";
import { pino, type Logger } from "pino";
import type { CliEnv } from "../config/env.js";
import type { Output } from "./output.js";

/**
 * The CLI's logger: formatted as the server's (see src/log.ts), but written
 * to stderr through `Output` (stdout carries the answer, and the lines are
 * redacted like everything else printed). Warnings and errors by default:
 * LOG_LEVEL=debug shows what the reconciler and the providers do.
 */
export async function createCliLogger(env: Pick<CliEnv, "logLevel" | "logFormat">, out: Output): Promise<Logger> {
  const transform = await getTransformStream({ logFormat: env.logFormat });
  transform.on("data", (chunk) => out.log(String(chunk)));
  return pino({ name: "ephemera", level: env.logLevel }, transform);
}
