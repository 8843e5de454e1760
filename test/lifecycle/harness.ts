import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { parseOperatorConfig, type OperatorConfig } from "../../src/config/operator-config.js";
import type { EnvironmentNotice, Notifier } from "../../src/lifecycle/notifier.js";
import type { Intent } from "../../src/lifecycle/intent.js";
import type { EnvKey } from "../../src/lifecycle/environment.js";
import type { EngineOptions } from "../../src/lifecycle/engine.js";

/**
 * What the lifecycle tests share: run steps that are tiny shell scripts
 * appending to a log the test reads back, an operator config built from an
 * object, intents as the GitHub layer would record them, a notifier that
 * records, and engine options with tiny timings.
 */

export const HOUR = 3_600_000;

export function testLog(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
}

/** Timings small enough for tests: leases of a second, renewals (and close checks) every 100 ms. */
export const FAST: Partial<EngineOptions> = {
  leaseTtlMs: 1_000,
  renewEveryMs: 100,
  retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200, jitter: 0.5 },
  queuePollMs: 500,
  busyRetryMs: 100,
  errorRetryMs: 300,
  claimHideMs: 1_000,
  idlePollMs: 20,
};

/** One line of the step log: `start|end <step> <env> <repoId> <sha> <phase> <ms> <process group>`. */
export interface StepLine {
  kind: "start" | "end";
  step: string;
  env: string;
  repoId: number;
  sha: string;
  phase: string;
  at: number;
  /** The step's process group: the run provider starts each run as the leader of its own. */
  group: number;
}

export interface StepWorkspace {
  readonly dir: string;
  readonly logFile: string;
  /** `./step.sh` in `dir`: `./step.sh <name> [seconds]`. */
  readonly script: string;
  lines(): StepLine[];
  /** Makes step `name` fail (exit 1, printing `message`) until `heal`. */
  breakStep(name: string, message: string): void;
  heal(name: string): void;
  dispose(): void;
}

/**
 * A temp dir with `step.sh`: it logs a start line, sleeps, fails while a
 * `fail-<name>` file exists, writes outputs (`name`, and `url` when the step's
 * `URL` variable is set), and logs an end line.
 */
export function stepWorkspace(): StepWorkspace {
  const dir = mkdtempSync(join(tmpdir(), "ephemera-lifecycle-"));
  const logFile = join(dir, "steps.log");
  const script = join(dir, "step.sh");
  writeFileSync(logFile, "");
  writeFileSync(
    script,
    `#!/bin/bash
NAME=$1
read -r _ _ _ _ GROUP _ < /proc/$$/stat
# Bash's clock (microseconds) in milliseconds: no process per line, as \`date\` would be.
log() { local now=\${EPOCHREALTIME/./}; echo "$1 $NAME $EPHEMERA_ENV_ID $EPHEMERA_REPO_ID $EPHEMERA_SHA $EPHEMERA_PHASE \${now%???} $GROUP" >> '${logFile}'; }
log start
if [ -n "$2" ]; then sleep "$2"; fi
if [ -f '${dir}'/fail-$NAME ]; then echo "step $NAME is broken: $(cat '${dir}'/fail-$NAME)"; exit 1; fi
echo "name=$NAME-$EPHEMERA_SHA" >> "$EPHEMERA_OUTPUT"
if [ -n "$URL" ]; then echo "url=$URL" >> "$EPHEMERA_OUTPUT"; fi
if [ -n "$EPHEMERA_OUT_DATABASE_URL" ]; then echo "database_url_seen=yes" >> "$EPHEMERA_OUTPUT"; fi
log end
`,
  );
  chmodSync(script, 0o755);
  return {
    dir,
    logFile,
    script,
    lines: () => parseStepLog(readFileSync(logFile, "utf8")),
    breakStep: (name, message) => writeFileSync(join(dir, `fail-${name}`), message),
    heal: (name) => rmSync(join(dir, `fail-${name}`), { force: true }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function parseStepLog(text: string): StepLine[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [kind, step, env, repoId, sha, phase, at, group] = line.split(" ");
      return { kind: kind as StepLine["kind"], step: step ?? "", env: env ?? "", repoId: Number(repoId), sha: sha ?? "", phase: phase ?? "", at: Number(at), group: Number(group) };
    });
}

/** How many times each `<repoId>/<env>/<step>/<sha>` logged `kind`, for setup steps. */
export function runsPerSha(lines: readonly StepLine[], kind: StepLine["kind"]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    if (line.kind !== kind || line.phase !== "setup") continue;
    const id = `${line.repoId}/${line.env}/${line.step}/${line.sha}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

export function operatorConfig(config: object): OperatorConfig {
  // JSON is YAML: the same parser the app uses, defaults and validation included.
  return parseOperatorConfig(JSON.stringify(config), "test operator config");
}

export class RecordingNotifier implements Notifier {
  readonly notices: EnvironmentNotice[] = [];

  async environmentChanged(notice: EnvironmentNotice): Promise<void> {
    this.notices.push(structuredClone(notice));
  }

  eventsOf(key: EnvKey): string[] {
    return this.notices.filter((n) => n.key.repoId === key.repoId && n.key.pr === key.pr).flatMap((n) => n.events.map((e) => e.event));
  }
}

let clockSecond = 0;
/** Strictly increasing GitHub-like times, so every new intent is newer than the last. */
export function githubTime(): string {
  clockSecond += 1;
  return new Date(Date.UTC(2026, 0, 1) + clockSecond * 1000).toISOString();
}

const prFacts = { repo: "octo/app", installationId: 7, headRef: "feature", fork: false, draft: false, labels: [] as string[] };

export function openIntent(sha: string, extra: Partial<typeof prFacts> = {}, at = githubTime()): Intent {
  return { type: "open", at, ...prFacts, ...extra, headSha: sha };
}

export function pushIntent(sha: string, extra: Partial<typeof prFacts> = {}, at = githubTime()): Intent {
  return { type: "push", at, ...prFacts, ...extra, headSha: sha };
}

export function closeIntent(at = githubTime(), reason = "closed"): Intent {
  return { type: "close", at, reason };
}
