import { execFileSync } from "node:child_process";
import os from "node:os";

export interface Machine {
  os: string;
  kernel: string;
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  node: string;
  redis: string;
  postgres: string;
}

/** What the figures were measured on, for the results file and the README. */
export function describeMachine(): Machine {
  return {
    os: `${os.type()} ${os.machine()}${osRelease()}`,
    kernel: os.release(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    cpus: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    redis: versionOf("redis-server", ["--version"], /v=(\S+)/),
    postgres: versionOf("psql", ["--version"], /(\d+\.\d+)/),
  };
}

function osRelease(): string {
  try {
    const text = execFileSync("sh", ["-c", ". /etc/os-release && echo \"$PRETTY_NAME\""], { encoding: "utf8" }).trim();
    return text ? ` (${text})` : "";
  } catch {
    return "";
  }
}

function versionOf(command: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(command, args, { encoding: "utf8" }))?.[1] ?? "unknown";
  } catch {
    return "not installed";
  }
}
