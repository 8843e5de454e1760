import { getTransformStream } from "@probot/pino";
import { pino, type Logger } from "pino";
import type { AppEnv } from "./config/env.js";

/**
 * The process logger, formatted as Probot formats its own (pretty in
 * development, JSON in production), so Probot's lines and ours read alike.
 */
export async function createLogger(env: Pick<AppEnv, "logLevel" | "logFormat">): Promise<Logger> {
  const transform = await getTransformStream({ logFormat: env.logFormat });
  transform.pipe(process.stdout);
  // Probot's request log records every header: the admin token and cookies must never reach a log line.
  return pino({ name: "ephemera", level: env.logLevel, redact: ["req.headers.authorization", "req.headers.cookie"] }, transform);
}
