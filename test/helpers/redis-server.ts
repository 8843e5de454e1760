import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { waitFor } from "./wait-for.js";

/**
 * A private redis-server for one test file: its own port and directory, so a
 * test may flush, stop or restart it without touching anything it did not
 * create.
 */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Its working directory (the append-only files are under `appendonlydir/`). */
  readonly dir: string;
  /** A fresh client; closed by `stop`. */
  client(db?: number): Redis;
  stop(): Promise<void>;
  /** Stops and starts the server on the same port (data is lost unless it keeps an append-only file). */
  restart(): Promise<void>;
  /** Kills the server (SIGKILL, as a crash would) but keeps the port reserved for `start`. */
  kill(): Promise<void>;
  /** Starts it again; with `appendfsync` it loads what its append-only file kept. */
  start(): Promise<void>;
}

export interface PrivateRedisOptions {
  /**
   * Keep an append-only file (AOF) and fsync it this often: `always` loses
   * no acknowledged write to a kill, `everysec` up to a second of them.
   * Unset: nothing on disk.
   */
  appendfsync?: "always" | "everysec";
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForPing(port: number): Promise<void> {
  let lastError: unknown;
  await waitFor(
    async () => {
      const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        return true;
      } catch (error) {
        lastError = error;
        return false;
      } finally {
        probe.disconnect();
      }
    },
    () => `redis-server on port ${port} did not answer PING: ${String(lastError)}`,
    10_000,
  );
}

/**
 * The redis-servers (or sentinels) a helper starts in one temp directory:
 * they are spawned, killed (SIGKILL, ports kept) and stopped together,
 * each with the same plain options, and the helper's own clients of them
 * are made on first use, one per port. Those clients' errors are ignored:
 * the helper takes servers down on purpose (`kill`).
 */
export function serverGroup(name: string): {
  dir: string;
  /** `--port`, `--bind 127.0.0.1`, `--dir`, no persistence. */
  plainArgs(port: number): string[];
  spawn(port: number, args: string[]): Promise<void>;
  client(port: number): Redis;
  kill(): Promise<void>;
  stop(): Promise<void>;
} {
  const dir = mkdtempSync(join(tmpdir(), `ephemera-${name}-`));
  let children: ChildProcess[] = [];
  const clients = new Map<number, Redis>();
  const kill = async () => {
    await Promise.all(children.map((child) => killProcess(child)));
    children = [];
  };
  return {
    dir,
    plainArgs: (port) => ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
    async spawn(port, args) {
      children.push(await spawnRedisServer(port, args));
    },
    client(port) {
      const existing = clients.get(port);
      if (existing) return existing;
      const created = new Redis({ port, host: "127.0.0.1" });
      created.on("error", () => undefined);
      clients.set(port, created);
      return created;
    },
    kill,
    async stop() {
      for (const open of clients.values()) open.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `redis-server` with `args` (which must name `port`) and waits until it answers PING. */
export async function spawnRedisServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  try {
    await waitForPing(port);
  } catch (error) {
    await killProcess(child);
    throw error;
  }
  return child;
}

/** Kills a process started here (SIGKILL, as a crash would) and waits for its exit. */
export async function killProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

export async function startPrivateRedis({ appendfsync }: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "ephemera-redis-"));
  const clients: Redis[] = [];
  let child: ChildProcess | undefined;

  const start = async () => {
    const persistence = appendfsync ? ["--appendonly", "yes", "--appendfsync", appendfsync] : ["--appendonly", "no"];
    child = await spawnRedisServer(port, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir, ...persistence]);
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    await killProcess(running);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    client(db = 0) {
      const client = new Redis({ port, host: "127.0.0.1", db });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      await start();
    },
    kill,
    start,
  };
}
