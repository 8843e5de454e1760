import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunProvider } from "../../../src/providers/run-provider.js";
import { installStepFirewall } from "../../../src/providers/sandbox/step-firewall.js";
import { UidLeases } from "../../../src/providers/sandbox/uid-leases.js";
import { UidSandbox } from "../../../src/providers/sandbox/uid-sandbox.js";
import { runStep, sandboxRoot, stepContext, testUidRange } from "./sandbox-fixtures.js";

/** As root: the nftables chain keeps step uids off the store, the app's port and metadata, and nothing else. */

const range = testUidRange();
let root: ReturnType<typeof sandboxRoot>;
let servers: Server[] = [];
let chain: string;
const ports = { store: 0, app: 0, other: 0 };

async function listen(host: string): Promise<number> {
  const server = createServer((socket) => socket.on("error", () => undefined).end("hello\n"));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

/** Prints `<name>=open` or `<name>=<error code>` for each host:port, from inside a step. */
function probeScript(targets: Record<string, string>): string {
  const code = `const net = require("net"); const [name, host, port] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port), timeout: 3000 });
const done = (result) => { console.log(name + "=" + result); process.exit(0); };
socket.on("connect", () => done("open")).on("timeout", () => done("timeout")).on("error", (error) => done(error.code));`;
  return Object.entries(targets)
    .map(([name, target]) => `${process.execPath} -e '${code}' ${name} ${target.replace(/:(\d+)$/, " $1")} >> "$EPHEMERA_OUTPUT"`)
    .join("\n");
}

const otherLocalAddress = Object.values(networkInterfaces()).flat().find((entry) => entry?.family === "IPv4" && !entry.internal)?.address;

beforeAll(async () => {
  root = sandboxRoot();
  ports.store = await listen("0.0.0.0");
  ports.app = await listen("127.0.0.1");
  ports.other = await listen("0.0.0.0");
  chain = await installStepFirewall({ uids: range, endpoints: [{ host: "localhost", port: ports.store }], appPort: ports.app });
});

afterAll(async () => {
  execFileSync("nft", ["delete", "chain", "inet", "ephemera", chain]);
  for (const server of servers) server.close();
  servers = [];
  const workdirs = join(root.dir, "workdirs");
  await new UidSandbox({ workdirs, leases: new UidLeases(join(root.dir, "leases"), range, workdirs), limits: { maxProcesses: 64, memoryBytes: 1024 ** 3 }, cgroups: true }).release({ repoId: 7, pr: 1 });
  root.dispose();
});

describe("the step firewall", () => {
  it("refuses a step the store (on every local address), the app's port and metadata, and lets it reach the rest", async () => {
    const configDir = join(root.dir, "config");
    mkdirSync(configDir, { mode: 0o755 });
    const workdirs = join(root.dir, "workdirs");
    const sandbox = new UidSandbox({ workdirs, leases: new UidLeases(join(root.dir, "leases"), range, workdirs), limits: { maxProcesses: 64, memoryBytes: 1024 ** 3 }, cgroups: true });
    const targets: Record<string, string> = {
      store: `127.0.0.1:${ports.store}`,
      app: `127.0.0.1:${ports.app}`,
      metadata: "169.254.169.254:80",
      other: `127.0.0.1:${ports.other}`,
      ...(otherLocalAddress && { store_elsewhere: `${otherLocalAddress}:${ports.store}`, other_elsewhere: `${otherLocalAddress}:${ports.other}` }),
    };
    const { outputs } = await new RunProvider({ cwd: configDir, sandbox }).create(runStep(probeScript(targets), { timeoutMs: 20_000 }), stepContext({ repoId: 7, pr: 1 }));
    expect(outputs).toEqual({
      store: "ECONNREFUSED",
      app: "ECONNREFUSED",
      metadata: expect.stringMatching(/^(ECONNREFUSED|EHOSTUNREACH)$/),
      other: "open",
      ...(otherLocalAddress && { store_elsewhere: "ECONNREFUSED", other_elsewhere: "open" }),
    });
  });

  it("is installed again without a gap or a second copy, and leaves the app itself alone", async () => {
    const before = execFileSync("nft", ["list", "chain", "inet", "ephemera", chain], { encoding: "utf8" });
    expect(await installStepFirewall({ uids: range, endpoints: [{ host: "localhost", port: ports.store }], appPort: ports.app })).toBe(chain);
    expect(execFileSync("nft", ["list", "chain", "inet", "ephemera", chain], { encoding: "utf8" })).toBe(before);
    // The app (root here) still reaches the store.
    const reached = await new Promise<boolean>((resolve) => {
      const socket = connect(ports.store, "127.0.0.1");
      socket.on("connect", () => resolve(true)).on("error", () => resolve(false));
      socket.on("connect", () => socket.destroy());
    });
    expect(reached).toBe(true);
  });
});
