import { chownSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleStepRunner, startStepRunner } from "./step-runner-process.js";
import { sandboxRoot, testUidRange } from "./sandbox-fixtures.js";

/**
 * An app that is not root (here: nobody, through setpriv) isolates its steps
 * with bubblewrap: the step sees only its own processes, none of the app's
 * secret files, no other environment's working directory, cannot write the
 * config directory and has no network, while its own directory is writable.
 */

const NOBODY = 65534;
let root: ReturnType<typeof sandboxRoot>;
let bundle: string;
let server: Server;
let port: number;

beforeAll(async () => {
  root = sandboxRoot();
  bundle = await bundleStepRunner(root.dir);
  server = createServer((socket) => socket.on("error", () => undefined).end("hello\n"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server.close();
  root.dispose();
});

/** Makes `path` (a directory, or a file with `content`) as the app's user would have it. */
function asApp(path: string, content?: string): string {
  if (content === undefined) mkdirSync(path, { recursive: true, mode: 0o700 });
  else writeFileSync(path, content, { mode: 0o600 });
  chownSync(path, NOBODY, NOBODY);
  return path;
}

describe("bubblewrap isolation (the app is not root)", () => {
  it("is chosen by auto and keeps the step inside its own working directory", async () => {
    const app = asApp(join(root.dir, "app"));
    const config = asApp(join(app, "config"));
    const key = asApp(join(config, "app.pem"), "-----BEGIN RSA PRIVATE KEY-----\n");
    const dotEnv = asApp(join(config, ".env"), "WEBHOOK_SECRET=hunter2\n");
    asApp(join(config, "deploy.sh"), "echo deployed\n");
    const data = asApp(join(config, "data"));
    asApp(join(data, "ephemera.sqlite"), "SQLite format 3");
    const workdirs = asApp(join(app, "workdirs"));
    asApp(join(workdirs, "env-4242-2"));
    asApp(join(workdirs, "env-4242-2", "note"), "another environment's\n");
    const probe = `const socket = require("net").connect(${port}, "127.0.0.1"); socket.on("connect", () => console.log("net=open")).on("error", (error) => console.log("net=" + error.code));`;
    const command = [
      `echo "procs=$(ls /proc | grep -c '^[0-9]')"`,
      `echo "key=$(cat ${key} 2>/dev/null)"`,
      `echo "dotenv=$(cat ${dotEnv} 2>/dev/null)"`,
      `echo "data=$(ls -A ${data} 2>/dev/null)"`,
      `echo "others=$(ls -A ${workdirs} 2>/dev/null | tr '\\n' ' ')"`,
      `echo "config_written=$(touch ${config}/planted 2>/dev/null && echo yes || echo no)"`,
      `echo "own=$(echo hi > mine && cat mine)"`,
      `echo "script=$(cat ${config}/deploy.sh)"`,
      `${process.execPath} -e '${probe}'`,
    ].map((line) => `${line} >> "$EPHEMERA_OUTPUT"`).join("\n");
    const runner = startStepRunner(bundle, { mode: "auto", configDir: config, workdirs, leaseDir: join(root.dir, "leases"), uidRange: testUidRange(), hidden: [key, dotEnv, data], command }, NOBODY);
    const outcome = await runner.exited;
    expect(runner.output()).toMatch(/^mode=bwrap$/m);
    const { outputs } = JSON.parse(outcome) as { outputs: Record<string, string> };
    expect(Number(outputs.procs)).toBeLessThanOrEqual(5);
    expect(outputs).toMatchObject({ key: "", dotenv: "", data: "", others: expect.stringMatching(/^\.step-[0-9a-f]{16} env-4242-1 $/), config_written: "no", own: "hi", script: "echo deployed", net: "ECONNREFUSED" });
    expect(existsSync(join(config, "planted"))).toBe(false);
  });
});
