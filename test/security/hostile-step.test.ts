import { execFile } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workdirOf } from "../../src/providers/sandbox/workdirs.js";
import { testAppCredentials } from "../helpers/app-credentials.js";
import { spawnApp, type AppProcess } from "../helpers/app-process.js";
import { startFakeGitHub, type FakeGitHub } from "../helpers/fake-github.js";
import { pullRequestEvent, type PrScenario } from "../helpers/pr-events.js";
import { freePort, startPrivateRedis, type PrivateRedis } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { deliver } from "../helpers/webhooks.js";

/**
 * Issue 10's acceptance test: a hostile PR against the README's quick-start
 * layout (app, `ephemera.config.yml`, `.env`, a PRIVATE_KEY_PATH key file,
 * the store under ./data as the app makes it), started as the real server
 * process under the default isolation. Another PR's step is running (the
 * victim); the hostile PR's step (hostile-step.sh) then tries every path of
 * points 1–3 and records which got through. Every attempt must fail, its own
 * working directory must stay writable, and the app must stay healthy.
 *
 * The same script run unconfined first (the control) shows that each probe
 * does find what it looks for when nothing stands in its way.
 */

const run = promisify(execFile);
const credentials = testAppCredentials();
/** Each test has a repository of its own: no environment of one test is in another's way. */
const REPOS = { sqlite: 6601, redis: 6602, bwrap: 6603, refused: 6604 } as const;
const scenario = (repoId: number, pr: number): PrScenario => ({ repoId, owner: "octo", name: `shop-${repoId}`, installationId: 66, pr });
const POSTGRES_PORT = 5432;
/** An unprivileged user for the app: nobody, whom nothing on the machine trusts. */
const NOBODY = { uid: 65534, gid: 65534 };

/** Every attack the script makes; "ok" means it got through. */
const ATTACKS = [
  "proc-environ", "key-file", "dot-env", "sqlite-store", "other-workdir", "other-output", "other-workdir-write",
  "config-dir-write", "redis", "postgres-admin-tcp", "postgres-admin-psql", "app-port", "metadata", "fork-bomb",
] as const;

interface Layout {
  readonly dir: string;
  readonly port: number;
  /** The app's real environment; everything else is in `.env`. */
  readonly env: Record<string, string>;
}

/**
 * The quick-start directory: the key file and `.env` at 0600 (the app refuses
 * them otherwise), the operator config and the step script readable by all,
 * everything owned by the app's user. WEBHOOK_SECRET is in the process's real
 * environment, as a service manager would put it, so /proc has it to find.
 */
async function quickStartLayout(gh: FakeGitHub, options: { redisUrl?: string; owner?: typeof NOBODY }): Promise<Layout> {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-hostile-"));
  layoutDirs.push(dir);
  chmodSync(dir, 0o755);
  const port = await freePort();
  const dotEnv = [
    `APP_ID=${credentials.APP_ID}`,
    "PRIVATE_KEY_PATH=app.pem",
    `GHE_HOST=${gh.env.GHE_HOST}`,
    `GHE_PROTOCOL=${gh.env.GHE_PROTOCOL}`,
    `EPHEMERA_POSTGRES_URL=postgres://postgres@127.0.0.1:${POSTGRES_PORT}/postgres`,
    "EPHEMERA_STEP_MAX_PROCESSES=64",
    ...(options.redisUrl === undefined ? [] : [`REDIS_URL=${options.redisUrl}`, "EPHEMERA_KEY_PREFIX=hostile:"]),
  ];
  writeFileSync(join(dir, ".env"), `${dotEnv.join("\n")}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "app.pem"), credentials.PRIVATE_KEY, { mode: 0o600 });
  copyFileSync(join(import.meta.dirname, "hostile-step.sh"), join(dir, "hostile-step.sh"));
  chmodSync(join(dir, "hostile-step.sh"), 0o755);
  const redisPort = options.redisUrl === undefined ? "1" : new URL(options.redisUrl).port;
  writeFileSync(
    join(dir, "ephemera.config.yml"),
    `templates:
  default:
    steps:
      - name: probe
        run: ./hostile-step.sh
        timeout: 1m
        env: { CONFIG_DIR: "${dir}", APP_PORT: "${port}", REDIS_PORT: "${redisPort}", POSTGRES_PORT: "${POSTGRES_PORT}" }
`,
    { mode: 0o644 },
  );
  if (options.owner !== undefined) {
    for (const file of ["", ".env", "app.pem", "hostile-step.sh", "ephemera.config.yml"]) chownSync(join(dir, file), options.owner.uid, options.owner.gid);
  }
  return { dir, port, env: { WEBHOOK_SECRET: credentials.WEBHOOK_SECRET, HOME: dir, PORT: String(port) } };
}

/** Removed after the tests, also those whose app never started. */
const layoutDirs: string[] = [];

type Results = Record<string, { got: "ok" | "blocked"; detail: string }>;

function parseResults(text: string): Results {
  const results: Results = {};
  for (const line of text.split("\n")) {
    const [name = "", got = "", ...detail] = line.split(" ");
    if (got === "ok" || got === "blocked") results[name] = { got, detail: detail.join(" ") };
  }
  return results;
}

async function resultsIn(workdir: string, app: AppProcess): Promise<Results> {
  const file = join(workdir, "results");
  await waitFor(() => existsSync(file) && readFileSync(file, "utf8").endsWith("done\n"), () => app.output());
  const text = readFileSync(file, "utf8");
  // The script reports whether it found a secret, never the secret.
  for (const secret of [credentials.WEBHOOK_SECRET, credentials.PRIVATE_KEY.split("\n")[1] ?? "-"]) expect(text).not.toContain(secret);
  return parseResults(text);
}

describe("a hostile PR", () => {
  let gh: FakeGitHub;
  let redis: PrivateRedis;

  beforeAll(async () => {
    gh = await startFakeGitHub({ appId: credentials.APP_ID, privateKeyPem: credentials.PRIVATE_KEY });
    for (const id of Object.values(REPOS)) gh.addRepo({ id, owner: "octo", name: `shop-${id}`, installationId: 66 });
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.stop();
    await gh?.close();
    for (const dir of layoutDirs) rmSync(dir, { recursive: true, force: true });
  });

  async function open(app: AppProcess, repoId: number, pr: number): Promise<void> {
    const sha = String(pr).repeat(40);
    gh.setPull(`octo/shop-${repoId}`, { number: pr, head: { sha, ref: `feature-${pr}` } });
    const response = await deliver(app.url("/api/github/webhooks"), "pull_request", pullRequestEvent(scenario(repoId, pr), "opened", { sha, at: new Date() }), {
      secret: credentials.WEBHOOK_SECRET,
    });
    expect(response.status, app.output()).toBe(200);
  }

  /**
   * Opens the victim PR and waits until its step runs, tells the hostile step
   * where the victim's files are, opens the hostile PR and returns what its
   * attacks achieved, once its environment is ready; `whileVictimRuns` runs
   * before the victim is let go.
   */
  async function attack(repoId: number, layout: Layout, app: AppProcess, whileVictimRuns: () => Promise<void> = async () => {}): Promise<Results> {
    const workdirs = join(layout.dir, "workdirs");
    await open(app, repoId, 1);
    const victimPaths = join(workdirOf(workdirs, { repoId, pr: 1 }), "paths");
    // Its whole line: the shell creates the file before it writes to it.
    const paths = await waitFor(() => {
      const text = existsSync(victimPaths) ? readFileSync(victimPaths, "utf8") : "";
      return text.endsWith("\n") && text;
    }, () => app.output());
    writeFileSync(join(layout.dir, "victim-paths"), paths, { mode: 0o644 });
    await open(app, repoId, 2);
    const results = await resultsIn(workdirOf(workdirs, { repoId, pr: 2 }), app);
    await waitFor(() => gh.deploymentsOf(`octo/shop-${repoId}`, "preview/pr-2").at(-1)?.statuses.at(-1)?.state === "success", () => app.output());
    expect((await fetch(app.url("/healthz"))).status).toBe(200);
    expect(app.child.exitCode).toBeNull();
    await whileVictimRuns();
    writeFileSync(join(layout.dir, "release-victim"), "");
    return results;
  }

  /** The script as PR code would run with no isolation at all: as the test's own user (root), in the app's directory. */
  async function control(layout: Layout): Promise<Results> {
    const workdir = mkdtempSync(join(tmpdir(), "ephemera-control-"));
    try {
      const redisPort = readFileSync(join(layout.dir, "ephemera.config.yml"), "utf8").match(/REDIS_PORT: "(\d+)"/)?.[1] ?? "1";
      await run(join(layout.dir, "hostile-step.sh"), [], {
        cwd: layout.dir,
        env: { PATH: process.env.PATH, EPHEMERA_PR: "99", EPHEMERA_WORKDIR: workdir, CONFIG_DIR: layout.dir, APP_PORT: String(layout.port), REDIS_PORT: redisPort, POSTGRES_PORT: String(POSTGRES_PORT) },
      });
      return parseResults(readFileSync(join(workdir, "results"), "utf8"));
    } finally {
      rmSync(workdir, { recursive: true, force: true });
      rmSync(join(layout.dir, "pwned"), { force: true });
    }
  }

  function expectEveryAttackFailed(results: Results, except: readonly string[] = []): void {
    const gotThrough = ATTACKS.filter((name) => !except.includes(name) && results[name]?.got !== "blocked");
    expect(gotThrough, JSON.stringify(results, null, 2)).toEqual([]);
    expect(results["own-workdir-write"]?.got, JSON.stringify(results)).toBe("ok");
  }

  it.each([
    ["the embedded store", undefined],
    ["Redis", "redis"],
  ] as const)("as root with %s: every attack fails, its own workdir is writable, the app stays healthy", async (_, store) => {
    const layout = await quickStartLayout(gh, { ...(store === "redis" && { redisUrl: redis.url }) });
    const app = await spawnApp({ env: layout.env, cwd: layout.dir });
    try {
      let unconfined: Results = {};
      const results = await attack(store === "redis" ? REPOS.redis : REPOS.sqlite, layout, app, async () => {
        unconfined = await control(layout);
      });
      console.log(`as root, ${store ?? "sqlite"} store:`, JSON.stringify(results));
      expectEveryAttackFailed(results);

      // The control: unconfined, the same probes get through. A metadata endpoint answers only on some machines.
      const reachable = ATTACKS.filter((name) => name !== "metadata" && unconfined[name]?.got === "ok");
      const notStore = store === "redis" ? "sqlite-store" : "redis";
      expect(reachable, JSON.stringify(unconfined, null, 2)).toEqual(ATTACKS.filter((name) => name !== "metadata" && name !== notStore));
    } finally {
      await app.dispose();
    }
  }, 60_000);

  it("with the app as an unprivileged user: isolated by bubblewrap where it works here, else refused at start", async () => {
    const layout = await quickStartLayout(gh, { owner: NOBODY });
    const bwrapWorks = await run("/usr/bin/setpriv", [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, "--clear-groups", "bwrap", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"]).then(
      () => true,
      () => false,
    );
    const app = await spawnApp({ env: layout.env, cwd: layout.dir, runAs: NOBODY, waitForHealth: bwrapWorks });
    try {
      if (!bwrapWorks) {
        expect(await app.stop()).toBe(1);
        expect(app.output()).toMatch(/^ephemera: EPHEMERA_STEP_ISOLATION=auto cannot isolate run steps here: .*bubblewrap/);
        return;
      }
      const results = await attack(REPOS.bwrap, layout, app);
      console.log("as nobody, under bubblewrap:", JSON.stringify(results));
      expectEveryAttackFailed(results);
    } finally {
      await app.dispose();
    }
  }, 60_000);

  it("with the app as an unprivileged user and no bubblewrap: refuses to start with one line saying how to enable isolation", async () => {
    const layout = await quickStartLayout(gh, { owner: NOBODY });
    // Neither bwrap nor anything else on the PATH: isolation is impossible.
    const app = await spawnApp({ env: { ...layout.env, PATH: join(layout.dir, "no-such-dir") }, cwd: layout.dir, runAs: NOBODY, waitForHealth: false });
    try {
      const code = await new Promise<number | null>((done) => (app.child.exitCode === null ? app.child.once("exit", done) : done(app.child.exitCode)));
      expect(code).toBe(1);
      const lines = app.output().trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^ephemera: EPHEMERA_STEP_ISOLATION=auto cannot isolate run steps here\b.*: run Ephemera as root .*install bubblewrap/);
    } finally {
      await app.dispose();
    }
  }, 30_000);
});
