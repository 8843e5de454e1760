import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { HostPort } from "../../src/config/env.js";
import { freePort, serverGroup } from "./redis-server.js";
import { waitFor } from "./wait-for.js";

/** A master the sentinels monitor under `name`, with `replicas` replicas. */
export interface SentinelGroup {
  name: string;
  replicas: number;
}

/**
 * A private Sentinel setup for one test file: for each group a master and
 * its replicas (redis-servers on free ports, nothing on disk), and three
 * sentinels (`redis-server --sentinel`) monitoring every group. `stop` kills
 * only the processes it started.
 */
export interface PrivateRedisSentinel {
  /** What EPHEMERA_REDIS_SENTINELS would list. */
  readonly sentinels: HostPort[];
  /** Empties the group's current master (and so its replicas). */
  flush(name: string): Promise<void>;
  /**
   * SENTINEL FAILOVER of the group, once its replica has every write the
   * master acknowledged (Sentinel does not wait for that: replication is
   * asynchronous), waiting until the sentinels name the replica as its
   * master. Returns the ports.
   */
  failover(name: string): Promise<{ from: number; to: number }>;
  /** Kills every process (SIGKILL), keeping their ports and the sentinels' config for `start`. */
  kill(): Promise<void>;
  /** Starts them again (the data is gone: nothing is on disk). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const QUORUM = 2;

export async function startPrivateRedisSentinel(groups: SentinelGroup[]): Promise<PrivateRedisSentinel> {
  const { dir, client, kill, stop, spawn, plainArgs: serverArgs } = serverGroup("redis-sentinel");
  /** How to start each process again: its port and arguments, in order. */
  const started: Array<{ port: number; args: string[] }> = [];
  const spawnProcess = async (port: number, args: string[]) => {
    await spawn(port, args);
    started.push({ port, args });
  };

  const sentinelPorts = await Promise.all([0, 1, 2].map(() => freePort()));
  let sentinel: Redis;
  try {
    const masters = new Map<string, number>();
    for (const group of groups) {
      const master = await freePort();
      await spawnProcess(master, serverArgs(master));
      for (let i = 0; i < group.replicas; i += 1) {
        const port = await freePort();
        await spawnProcess(port, [...serverArgs(port), "--replicaof", "127.0.0.1", String(master)]);
      }
      masters.set(group.name, master);
    }
    for (const port of sentinelPorts) {
      // A sentinel rewrites its config file: each its own.
      const config = join(dir, `sentinel-${port}.conf`);
      const monitors = groups.flatMap(({ name }) => [
        `sentinel monitor ${name} 127.0.0.1 ${masters.get(name)} ${QUORUM}`,
        `sentinel down-after-milliseconds ${name} 2000`,
        `sentinel failover-timeout ${name} 5000`,
      ]);
      writeFileSync(config, [`port ${port}`, "bind 127.0.0.1", `dir ${dir}`, ...monitors, ""].join("\n"));
      await spawnProcess(port, [config, "--sentinel"]);
    }
    sentinel = client(sentinelPorts[0] as number);
    // Every replica synced, and known to the sentinel (it finds them from the master's INFO).
    await waitFor(async () => {
      for (const { name, replicas } of groups) {
        const known = (await sentinel.call("SENTINEL", "REPLICAS", name)) as string[][];
        const synced = known.filter((fields) => fields[fields.indexOf("master-link-status") + 1] === "ok");
        if (synced.length < replicas) return false;
      }
      return true;
    }, () => "the sentinels did not see every replica in sync");
  } catch (error) {
    await stop();
    throw error;
  }

  const masterPort = async (name: string) => Number(((await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as string[])[1]);

  return {
    sentinels: sentinelPorts.map((port) => ({ host: "127.0.0.1", port })),
    async flush(name) {
      await client(await masterPort(name)).flushall();
    },
    async failover(name) {
      const from = await masterPort(name);
      await waitFor(async () => replicasCaughtUp(await client(from).info("replication")), () => `the replica of ${name} did not catch up`);
      await sentinel.call("SENTINEL", "FAILOVER", name);
      await waitFor(async () => (await masterPort(name)) !== from, () => `the sentinels did not fail ${name} over`);
      const to = await masterPort(name);
      await waitFor(async () => /role:master/.test(await client(to).info("replication")), () => `the new master of ${name} did not take the role`);
      return { from, to };
    },
    kill,
    async start() {
      for (const { port, args } of started) await spawn(port, args);
    },
    stop,
  };
}

/** INFO replication of a master: every replica (`slaveN:…,offset=N,…`) is at the master's offset. */
function replicasCaughtUp(info: string): boolean {
  const offset = /master_repl_offset:(\d+)/.exec(info)?.[1];
  const replicas = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((match) => match[1]);
  return replicas.length > 0 && replicas.every((replicaOffset) => replicaOffset === offset);
}
