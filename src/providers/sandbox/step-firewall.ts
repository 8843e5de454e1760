import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import type { UidRange } from "./uid-leases.js";

/**
 * No route from a step to the control plane (DESIGN §7), as root: an
 * nftables chain of Ephemera's own (table `inet ephemera`) rejects, for
 * sockets owned by a step uid (`meta skuid`), connections to the store, to
 * the postgres provider's admin endpoint, to the app's own port on any local
 * address, and to link-local and metadata addresses. Everything else (the
 * network a deploy targets) stays reachable.
 *
 * The chain is named after a hash of what it blocks, and replaced in one
 * nft transaction: app processes on one host with the same settings share
 * one chain and re-installing it never opens a gap; a process with other
 * settings adds a chain of its own and never removes another's (each base
 * chain's reject applies). A chain left by settings no longer used only
 * blocks more, until a reboot or `nft delete table inet ephemera`.
 */

/** A TCP service steps must not reach; a local address blocks that port on every local address. */
export interface BlockedEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface StepFirewallSettings {
  readonly uids: UidRange;
  readonly endpoints: readonly BlockedEndpoint[];
  /** The app's own HTTP port. */
  readonly appPort: number;
}

const TABLE = "inet ephemera";

export class FirewallError extends Error {}

/** Installs (or re-installs) the chain; returns its name. */
export async function installStepFirewall(settings: StepFirewallSettings): Promise<string> {
  const rules = await stepFirewallRules(settings);
  const chain = `steps_${createHash("sha256").update(rules.join("\n")).digest("hex").slice(0, 12)}`;
  const script = [
    `add table ${TABLE}`,
    `add chain ${TABLE} ${chain} { type filter hook output priority filter; policy accept; }`,
    `flush chain ${TABLE} ${chain}`,
    ...rules.map((rule) => `add rule ${TABLE} ${chain} ${rule}`),
  ].join("\n");
  await nft(script);
  return chain;
}

/** The rule bodies, each for sockets of the step uids only. */
export async function stepFirewallRules(settings: StepFirewallSettings): Promise<string[]> {
  const owner = `meta skuid ${settings.uids.first}-${settings.uids.last}`;
  const local = localAddresses();
  const rules = [
    `${owner} fib daddr type local tcp dport ${settings.appPort} reject with tcp reset`,
    `${owner} ip daddr 169.254.0.0/16 reject`,
    `${owner} ip6 daddr { fe80::/10, fd00:ec2::254 } reject`,
  ];
  for (const endpoint of settings.endpoints) {
    const addresses = await resolve(endpoint.host);
    if (addresses.some((address) => local.has(address))) {
      rules.push(`${owner} fib daddr type local tcp dport ${endpoint.port} reject with tcp reset`);
    }
    for (const address of addresses) {
      rules.push(`${owner} ${isIP(address) === 6 ? "ip6" : "ip"} daddr ${address} tcp dport ${endpoint.port} reject with tcp reset`);
    }
  }
  return [...new Set(rules)];
}

async function resolve(host: string): Promise<string[]> {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) !== 0) return [bare];
  try {
    return [...new Set((await lookup(bare, { all: true })).map((entry) => entry.address))];
  } catch (error) {
    throw new FirewallError(`cannot resolve ${host} to block it for steps: ${(error as Error).message}`);
  }
}

function localAddresses(): Set<string> {
  const addresses = new Set(["0.0.0.0", "::"]);
  for (const entries of Object.values(networkInterfaces())) for (const entry of entries ?? []) addresses.add(entry.address);
  return addresses;
}

function nft(script: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("nft", ["-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error) => reject(new FirewallError(`cannot run nft: ${error.message}`)));
    child.once("close", (code) => (code === 0 ? resolvePromise() : reject(new FirewallError(`nft refused the step rules: ${stderr.trim().slice(0, 500)}`))));
    child.stdin.end(script);
  });
}
