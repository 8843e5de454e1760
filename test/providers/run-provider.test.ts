import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StepAbortedError, StepFailedError, type StepContext, type StepSpec } from "../../src/lifecycle/provider.js";
import { parseOutputFile } from "../../src/providers/output-file.js";
import { RunProvider, type RunProviderOptions } from "../../src/providers/run-provider.js";
import { stepContext } from "./sandbox/sandbox-fixtures.js";

let cwd: string;

beforeEach(async () => {
  cwd = realpathSync(await mkdtemp(join(tmpdir(), "ephemera-run-test-")));
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const context = (overrides: Partial<StepContext> = {}): StepContext => stepContext({ repoId: 4242, pr: 42 }, overrides);

function provider(options: Partial<RunProviderOptions> = {}): RunProvider {
  return new RunProvider({ cwd, killGraceMs: 1000, ...options });
}

const run = (command: string, extra: Partial<StepSpec> = {}): StepSpec => ({ name: "deploy", run: command, ...extra });

/** Pids in process group `pgid` that are still running. Zombies count as gone: this machine's init does not reap orphans. */
function livingMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the parenthesised command: state, ppid, pgrp, …
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") members.push(Number(entry));
  }
  return members;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
}

const readPid = (name: string) => Number(readFileSync(join(cwd, name), "utf8").trim());

describe("RunProvider", () => {
  it("gives the step the EPHEMERA_* variables and earlier outputs, and reads its outputs back", async () => {
    const script = `{
      echo "env_id=$EPHEMERA_ENV_ID"; echo "repo=$EPHEMERA_REPO"; echo "repo_id=$EPHEMERA_REPO_ID"
      echo "pr=$EPHEMERA_PR"; echo "sha=$EPHEMERA_SHA"; echo "ref=$EPHEMERA_REF"
      echo "expires_at=$EPHEMERA_EXPIRES_AT"; echo "phase=$EPHEMERA_PHASE"; echo "cwd=$(pwd)"
      echo "db_url=$EPHEMERA_OUT_DATABASE_URL"; echo "site=$EPHEMERA_OUT_BUILD_SITE_URL"; echo "greeting=$GREETING"
      echo "output_file=$EPHEMERA_OUTPUT"
      echo "notes<<EOF"; printf 'line one\\nline two\\n'; echo "EOF"
    } >> "$EPHEMERA_OUTPUT"`;
    const ctx = context({
      outputs: { "build-site": { url: "https://pr-42.preview.example" } },
      secrets: { database: { url: "postgres://u:p@db:5432/app" } },
    });
    const { outputs, secrets } = await provider().create(run(script, { env: { GREETING: "hello" } }), ctx);

    expect(secrets).toEqual({});
    expect(outputs).toMatchObject({
      env_id: "pr-42",
      repo: "octo/app",
      repo_id: "4242",
      pr: "42",
      sha: ctx.sha,
      ref: "feature/login",
      expires_at: "2030-01-01T00:00:00.000Z",
      phase: "setup",
      cwd,
      // A secret written into a plain output would be stored and shown in plain: it is masked.
      db_url: "***",
      site: "https://pr-42.preview.example",
      greeting: "hello",
      notes: "line one\nline two",
    });
    expect(existsSync(outputs.output_file ?? "")).toBe(false);
  });

  it("tells a teardown command its phase", async () => {
    const { outputs } = await provider().create(run(`echo "phase=$EPHEMERA_PHASE" >> "$EPHEMERA_OUTPUT"`), context({ phase: "teardown" }));
    expect(outputs).toEqual({ phase: "teardown" });
  });

  it("passes a hostile branch name only as data", async () => {
    const marker = `pwned-${randomBytes(4).toString("hex")}`;
    const payloads = [`$(touch\${IFS}${marker})`, `; touch ${marker}`, `\`touch ${marker}\``, `'"; touch ${marker}; echo "'`];
    for (const ref of payloads) {
      // Quoted and unquoted: expansion of a variable never runs what it holds.
      const script = `echo $EPHEMERA_REF; echo "$EPHEMERA_REF"; printf 'ref=%s\\n' "$EPHEMERA_REF" >> "$EPHEMERA_OUTPUT"`;
      const { outputs } = await provider().create(run(script), context({ ref }));
      expect(outputs.ref).toBe(ref);
    }
    for (const dir of [cwd, tmpdir(), "/tmp"]) expect(existsSync(join(dir, marker))).toBe(false);
  });

  it("never lets the app's own secrets into the step's environment", async () => {
    const fakes: Record<string, string> = {};
    for (const name of ["PRIVATE_KEY", "WEBHOOK_SECRET", "EPHEMERA_ADMIN_TOKEN", "EPHEMERA_POSTGRES_URL", "REDIS_URL", "EPHEMERA_SECRET_KEY", "GITHUB_TOKEN"]) {
      fakes[name] = `fake-${name.toLowerCase()}-${randomBytes(6).toString("hex")}`;
    }
    const saved = { ...process.env };
    Object.assign(process.env, fakes);
    try {
      await provider().create(run(`env > "$DUMP"`, { env: { DUMP: join(cwd, "env.txt") } }), context());
    } finally {
      process.env = saved;
    }
    const dump = await readFile(join(cwd, "env.txt"), "utf8");
    for (const [name, value] of Object.entries(fakes)) {
      expect(dump).not.toContain(value);
      expect(dump).not.toMatch(new RegExp(`^${name}=`, "m"));
    }
    const names = dump.split("\n").filter(Boolean).map((line) => line.slice(0, line.indexOf("=")));
    const expected = /^(PATH|HOME|LANG|LC_ALL|TZ|TMPDIR|USER|SHELL|DUMP|PWD|EPHEMERA_[A-Z_]+)$/;
    expect(names.filter((name) => !expected.test(name))).toEqual([]);
  });

  it("kills the whole process group when the step times out", async () => {
    const script = `sleep 1000 & echo $! > bg.pid; echo $$ > sh.pid; sleep 1000`;
    const failure = provider().create(run(script, { timeoutMs: 1000 }), context());
    await expect(failure).rejects.toBeInstanceOf(StepFailedError);
    await expect(failure).rejects.toMatchObject({ terminal: false, message: 'step "deploy" timed out after 1s' });
    expect(isRunning(readPid("bg.pid"))).toBe(false);
    expect(livingMembers(readPid("sh.pid"))).toEqual([]);
  });

  it("follows SIGTERM with SIGKILL when the step ignores it", async () => {
    const script = `trap '' TERM; sleep 1000 & echo $! > bg.pid; echo $$ > sh.pid; while :; do sleep 0.1; done`;
    const started = Date.now();
    await expect(provider({ killGraceMs: 500 }).create(run(script, { timeoutMs: 1000 }), context())).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(livingMembers(readPid("sh.pid"))).toEqual([]);
  });

  it("stops a running step promptly when its signal is aborted", async () => {
    const controller = new AbortController();
    const running = provider({ killGraceMs: 5000 }).create(run(`echo $$ > sh.pid; sleep 1000`), context({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    await expect(running).rejects.toBeInstanceOf(StepAbortedError);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(livingMembers(readPid("sh.pid"))).toEqual([]);
  });

  it("does not start a step whose signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider().create(run(`touch started`), context({ signal: controller.signal }))).rejects.toBeInstanceOf(StepAbortedError);
    expect(existsSync(join(cwd, "started"))).toBe(false);
  });

  it("kills what a finished step left running, without waiting for it", async () => {
    const started = Date.now();
    await provider().create(run(`sleep 1000 & echo $! > bg.pid; echo $$ > sh.pid`), context());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(livingMembers(readPid("sh.pid"))).toEqual([]);
  });

  it("fails a non-zero exit with the exit code and the tail of stdout and stderr", async () => {
    const script = `i=0; while [ $i -lt 500 ]; do i=$((i+1)); echo "line $i"; done; echo "boom" >&2; exit 3`;
    const error = await provider({ outputTailBytes: 256 }).create(run(script), context()).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(StepFailedError);
    const failure = error as StepFailedError;
    expect(failure).toMatchObject({ step: "deploy", exitCode: 3, terminal: false, message: 'step "deploy" exited with code 3' });
    expect(failure.outputTail).toMatch(/^\[…\]/);
    expect(failure.outputTail).toMatch(/line 500\nboom\n$/);
    expect(failure.outputTail).not.toContain("line 1\n");
    expect(Buffer.byteLength(failure.outputTail)).toBeLessThanOrEqual(256 + Buffer.byteLength("[…]"));
  });

  it("masks the values of secret outputs in the tail, even one cut by the window", async () => {
    const password = "s3cr3t-value-123456";
    const secrets = { database: { url: `postgres://app:${password}@db/app`, password } };
    const shown = await provider()
      .create(run(`echo "connecting to $EPHEMERA_OUT_DATABASE_URL"; echo "password $EPHEMERA_OUT_DATABASE_PASSWORD"; exit 1`), context({ secrets }))
      .catch((error: StepFailedError) => error.outputTail);
    expect(shown).toBe("connecting to ***\npassword ***\n");

    const cut = await provider({ outputTailBytes: 20 })
      .create(run(`printf 'AAAA%sABCDEFGHIJ' "$EPHEMERA_OUT_DATABASE_PASSWORD"; exit 1`), context({ secrets }))
      .catch((error: StepFailedError) => error.outputTail);
    expect(cut).toBe("[…]ABCDEFGHIJ");
  });

  it("fails a step that writes an unreadable output file, terminally", async () => {
    const failure = provider().create(run(`echo "no equals sign" >> "$EPHEMERA_OUTPUT"`), context());
    await expect(failure).rejects.toMatchObject({ terminal: true, message: expect.stringMatching(/unreadable \$EPHEMERA_OUTPUT: line 1/) });
  });

  it("fails a step whose output holds a NUL byte, terminally: no later step's variable could carry it", async () => {
    const failure = provider().create(run(`printf 'ok=1\\nbad=a\\0b\\n' >> "$EPHEMERA_OUTPUT"`), context());
    await expect(failure).rejects.toMatchObject({ terminal: true, message: expect.stringMatching(/unreadable \$EPHEMERA_OUTPUT: line 2: a NUL byte/) });
  });

  it("has nothing to destroy without a sandbox", async () => {
    await expect(provider().destroy(run("true"), context())).resolves.toBeUndefined();
  });

  it("fails a step whose $EPHEMERA_OUTPUT is larger than 64 KiB, terminally", async () => {
    const fits = `head -c 65000 /dev/zero | tr '\\0' a | sed 's/^/big=/' | head -c 65535 >> "$EPHEMERA_OUTPUT"`;
    const { outputs } = await provider().create(run(fits), context());
    expect(outputs.big?.length).toBeGreaterThan(60_000);
    const failure = provider().create(run(`head -c 70000 /dev/zero | tr '\\0' a | sed 's/^/big=/' >> "$EPHEMERA_OUTPUT"`), context());
    await expect(failure).rejects.toMatchObject({ terminal: true, message: 'step "deploy" wrote a $EPHEMERA_OUTPUT that is larger than 64 KiB' });
  });

  it("refuses an output file that is a symbolic link to a file of the app's", async () => {
    const secret = join(cwd, "app-secret");
    await writeFile(secret, "stolen=yes\n", { mode: 0o600 });
    const failure = provider().create(run(`rm "$EPHEMERA_OUTPUT"; ln -s ${secret} "$EPHEMERA_OUTPUT"`), context());
    await expect(failure).rejects.toMatchObject({ terminal: true, message: expect.stringMatching(/symbolic link/) });
  });
});

describe("parseOutputFile", () => {
  it("reads name=value lines, keeping any later '=' in the value", () => {
    expect(parseOutputFile("a=1\n\nb=x=y\r\nc=\n")).toEqual({ a: "1", b: "x=y", c: "" });
  });

  it("reads multi-line values between delimiters", () => {
    expect(parseOutputFile("body<<END\nfirst\n\nthird\nEND\nafter=1\n")).toEqual({ body: "first\n\nthird", after: "1" });
  });

  it("lets a later value win and treats __proto__ as a plain name", () => {
    const outputs = parseOutputFile("a=1\na=2\n__proto__=x\n");
    expect(outputs.a).toBe("2");
    expect(Object.getOwnPropertyDescriptor(outputs, "__proto__")?.value).toBe("x");
  });

  it("rejects a line that is neither form, and an unclosed delimiter", () => {
    expect(() => parseOutputFile("ok=1\njunk\n")).toThrow(/line 2/);
    expect(() => parseOutputFile("=value\n")).toThrow(/line 1/);
    expect(() => parseOutputFile("body<<END\nnever closed\n")).toThrow(/no closing "END"/);
  });
});
