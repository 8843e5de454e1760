import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { spawnApp, type AppProcess } from "../helpers/app-process.js";
import { freePort } from "../helpers/redis-server.js";

/**
 * The replicas of one chaos run: real server processes (src/main.ts) with
 * one environment, each on a port and in a directory of its own that a
 * restart keeps. What every incarnation printed is kept for the figures.
 */
export interface Replica {
  readonly name: string;
  readonly port: number;
  /** The running incarnation, or undefined while it is down. */
  current: AppProcess | undefined;
}

export interface Incarnation {
  replica: string;
  pid: number;
  startedAt: number;
  /** When it was killed -9 (undefined: it ran to the end). */
  killedAt?: number;
  output: () => string;
}

export interface Replicas {
  readonly all: readonly Replica[];
  readonly incarnations: readonly Incarnation[];
  /** A random replica that is up, or any replica (a refused connection is part of the chaos). */
  pick(random: () => number): Replica;
  webhookUrl(replica: Replica): string;
  killAndRestart(replica: Replica, downMs: number): Promise<void>;
  stopAll(): Promise<void>;
}

const START_ATTEMPTS = 5;

export async function startReplicas(count: number, env: Record<string, string>, dir: string): Promise<Replicas> {
  const all: Replica[] = [];
  const incarnations: Incarnation[] = [];
  const start = async (replica: Replica) => {
    // A start may fail while Redis is down (or the machine is slow): try again, as an orchestrator would.
    for (let attempt = 1; ; attempt++) {
      try {
        const app = await spawnApp({ env: { ...env, PORT: String(replica.port) }, cwd: join(dir, replica.name), healthTimeoutMs: 60_000 });
        replica.current = app;
        incarnations.push({ replica: replica.name, pid: app.child.pid ?? -1, startedAt: Date.now(), output: () => app.output() });
        return;
      } catch (error) {
        if (attempt === START_ATTEMPTS) throw error;
        await new Promise((done) => setTimeout(done, 1_000));
      }
    }
  };
  for (let i = 1; i <= count; i++) {
    const replica: Replica = { name: `replica-${i}`, port: await freePort(), current: undefined };
    mkdirSync(join(dir, replica.name), { recursive: true });
    all.push(replica);
  }
  await Promise.all(all.map(start));
  return {
    all,
    incarnations,
    pick(random) {
      const up = all.filter((replica) => replica.current);
      const from = up.length > 0 ? up : all;
      return from[Math.floor(random() * from.length)] ?? all[0]!;
    },
    webhookUrl: (replica) => `http://127.0.0.1:${replica.port}/api/github/webhooks`,
    async killAndRestart(replica, downMs) {
      const app = replica.current;
      if (!app) return;
      replica.current = undefined;
      await app.kill();
      const incarnation = incarnations.findLast((candidate) => candidate.pid === app.child.pid);
      if (incarnation) incarnation.killedAt = Date.now();
      await new Promise((done) => setTimeout(done, downMs));
      await start(replica);
    },
    async stopAll() {
      await Promise.all(all.map((replica) => replica.current?.stop()));
    },
  };
}
