import { createHash } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EnvKey } from "../../lifecycle/environment.js";

/** The uids steps run as: no /etc/passwd entry needed, far above any real user's. */
export interface UidRange {
  readonly first: number;
  readonly last: number;
}

/**
 * Which environment holds which step uid on this host. One file per uid in a
 * root-only directory shared by every Ephemera process on the host (default
 * under /run, so a reboot, which ends every step, also frees every uid); a
 * uid is taken by creating its file exclusively, so two processes never hand
 * one uid to two environments. The file names the environment and the
 * working-directory root, which tells two installs on one host apart.
 */
export class UidLeases {
  constructor(
    private readonly dir: string,
    private readonly range: UidRange,
    /** The working-directory root of this install. */
    private readonly scope: string,
  ) {}

  /** The environment's uid; `fresh` when it was just taken, so whatever that uid still runs must be killed first. */
  async acquire(env: EnvKey): Promise<{ uid: number; fresh: boolean }> {
    const held = await this.find(env);
    if (held !== undefined) return { uid: held, fresh: false };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const size = this.range.last - this.range.first + 1;
    // Start where the environment hashes to, so a busy host rarely probes far.
    const start = createHash("sha256").update(this.holder(env)).digest().readUInt32BE(0) % size;
    for (let step = 0; step < size; step += 1) {
      const uid = this.range.first + ((start + step) % size);
      try {
        await writeFile(join(this.dir, String(uid)), this.holder(env), { flag: "wx", mode: 0o600 });
        return { uid, fresh: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
    }
    throw new Error(`every step uid in ${this.range.first}-${this.range.last} is taken; widen EPHEMERA_STEP_UID_RANGE`);
  }

  async find(env: EnvKey): Promise<number | undefined> {
    const wanted = this.holder(env);
    return (await this.list()).find((lease) => lease.holder === wanted)?.uid;
  }

  async free(uid: number): Promise<void> {
    await rm(join(this.dir, String(uid)), { force: true });
  }

  private async list(): Promise<{ uid: number; holder: string }[]> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [] as string[];
      throw error;
    });
    const leases = await Promise.all(
      names
        .filter((name) => /^\d+$/.test(name))
        .map(async (name) => ({ uid: Number(name), holder: await readFile(join(this.dir, name), "utf8").catch(() => "") })),
    );
    return leases.filter((lease) => lease.uid >= this.range.first && lease.uid <= this.range.last);
  }

  private holder(env: EnvKey): string {
    return `${this.scope}\n${env.repoId}-${env.pr}\n`;
  }
}
