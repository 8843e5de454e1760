import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Kills every process of `uid`, `setsid` daemons included, and returns once
 * none is left. The kill is sent by a process of that uid itself
 * (`kill -KILL -1`): the kernel then signals all of them in one pass, which a
 * fork bomb cannot outrun the way it outruns a kill per pid.
 */
export async function killAllOfUid(uid: number, options: { timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while ((await processesOf(uid)).length > 0) {
    if (Date.now() > deadline) throw new Error(`processes of uid ${uid} survived being killed`);
    // An empty environment: the shell runs as the uid, and the uid's processes could read its /proc/<pid>/environ.
    await run("/bin/sh", ["-c", "kill -KILL -1"], { uid, gid: uid, env: {} }).catch(() => undefined);
  }
}

/** Live pids whose real or effective uid is `uid`. Zombies are dead already (and a container's init may never reap them). */
export async function processesOf(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "utf8").catch(() => "");
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    if (state === undefined || state === "Z" || uids === null) continue;
    if (Number(uids[1]) === uid || Number(uids[2]) === uid) pids.push(Number(entry));
  }
  return pids;
}
