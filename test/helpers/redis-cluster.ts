import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { HostPort } from "../../src/config/env.js";
import { freePort, serverGroup } from "./redis-server.js";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/**
 * A private Redis Cluster for one test file: `masters` redis-servers in
 * cluster mode on free ports, each with `replicasPerMaster` replicas, joined
 * by `redis-cli --cluster create`. Nothing on disk; `stop` kills only the
 * processes it started.
 */
export interface PrivateRedisCluster {
  /** Every node, masters and replicas: what EPHEMERA_REDIS_CLUSTER_NODES would list. */
  readonly nodes: HostPort[];
  /** Empties every master (and so its replicas). */
  flushAll(): Promise<void>;
  /**
   * Fails the master of `key`'s slot over to its replica with CLUSTER
   * FAILOVER (coordinated: the replica catches up first, so no acknowledged
   * write is lost), and waits until every node agrees. Returns the ports.
   */
  failover(key: string): Promise<{ from: number; to: number }>;
  /** Kills every node (SIGKILL), keeping their ports and cluster config for `start`. */
  kill(): Promise<void>;
  /** Starts the nodes again (empty: nothing is on disk) and waits until the cluster is ok. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedisCluster({ masters = 3, replicasPerMaster = 1 } = {}): Promise<PrivateRedisCluster> {
  const ports = await Promise.all(Array.from({ length: masters * (1 + replicasPerMaster) }, () => freePort()));
  const { client, kill, stop, spawn, plainArgs } = serverGroup("redis-cluster");
  const spawnNodes = async () => {
    for (const port of ports) {
      await spawn(port, [...plainArgs(port), "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "5000"]);
    }
  };
  const clusterOk = () =>
    waitFor(async () => (await Promise.all(ports.map((port) => clusterAgrees(client(port), ports.length)))).every(Boolean), () => "the cluster did not reach cluster_state:ok");

  try {
    await spawnNodes();
    await run("redis-cli", ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", String(replicasPerMaster), "--cluster-yes"]);
    await clusterOk();
  } catch (error) {
    await stop();
    throw error;
  }

  const masterPorts = async () => (await nodesOf(client(ports[0] as number))).filter((node) => node.master).map((node) => node.port);

  return {
    nodes: ports.map((port) => ({ host: "127.0.0.1", port })),
    async flushAll() {
      await Promise.all((await masterPorts()).map((port) => client(port).flushall()));
    },
    async failover(key) {
      const slot = await client(ports[0] as number).cluster("KEYSLOT", key);
      const nodes = await nodesOf(client(ports[0] as number));
      const master = nodes.find((node) => node.master && node.slots.some(([first, last]) => slot >= first && slot <= last));
      const replica = nodes.find((node) => node.masterId === master?.id);
      if (!master || !replica) throw new Error(`no master with a replica serves slot ${slot}`);
      await waitFor(async () => /master_link_status:up/.test(await client(replica.port).info("replication")), () => "the replica never synced");
      await client(replica.port).cluster("FAILOVER");
      await waitFor(async () => {
        const views = await Promise.all(ports.map(async (port) => await nodesOf(client(port))));
        return views.every((view) => view.find((node) => node.port === replica.port)?.master && !view.find((node) => node.port === master.port)?.master);
      }, () => `the failover of slot ${slot} did not complete`);
      return { from: master.port, to: replica.port };
    },
    kill,
    async start() {
      await spawnNodes();
      await clusterOk();
    },
    stop,
  };
}

async function nodesOf(node: Redis): Promise<ClusterNode[]> {
  return parseNodes(String(await node.cluster("NODES")));
}

/** This node says the cluster is ok and knows all of it. */
async function clusterAgrees(node: Redis, size: number): Promise<boolean> {
  const info = String(await node.cluster("INFO"));
  return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${size}\\b`).test(info) && /cluster_slots_ok:16384/.test(info);
}

interface ClusterNode {
  id: string;
  port: number;
  master: boolean;
  /** The master's id, for a replica. */
  masterId: string | undefined;
  slots: Array<[number, number]>;
}

/** CLUSTER NODES: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot> <slot>…` a line. */
function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id = "", address = "", flags = "", masterId = "-", , , , , ...slots] = line.split(" ");
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        master: flags.split(",").includes("master"),
        masterId: masterId === "-" ? undefined : masterId,
        slots: slots.filter((slot) => !slot.startsWith("[")).map((slot): [number, number] => {
          const [first, last = first] = slot.split("-").map(Number);
          return [first as number, last as number];
        }),
      };
    });
}
