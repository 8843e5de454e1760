import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The `run` steps of the chaos operator config: one bash script that logs
 * its start and end (with the app process that ran it), sleeps to leave a
 * window for a kill, and keeps a marker file per environment — created by
 * setup, removed by teardown — as the resource a teardown must not leave.
 */
export interface StepLine {
  kind: "start" | "end";
  step: string;
  phase: string;
  /** `<repoId>/pr-<n>`. */
  env: string;
  sha: string;
  at: number;
  /** The step's process group (the script is its leader). */
  group: number;
  /** The app process that spawned it. */
  app: number;
}

export interface StepWorkspace {
  readonly dir: string;
  /** `run:` of a step: the script, exec'd so that its parent is the app process. */
  command(step: string, seconds: number): string;
  lines(): StepLine[];
  /** Environments (`<repoId>/pr-<n>`) whose marker file exists. */
  markers(): string[];
}

export function stepWorkspace(dir: string): StepWorkspace {
  const logFile = join(dir, "steps.log");
  const markers = join(dir, "markers");
  const script = join(dir, "step.sh");
  mkdirSync(markers, { recursive: true });
  writeFileSync(logFile, "");
  // As root every environment's steps run as a uid of its own (step isolation): each must append to the log and make or remove its marker.
  chmodSync(dir, 0o711);
  chmodSync(logFile, 0o666);
  chmodSync(markers, 0o777);
  writeFileSync(
    script,
    `#!/bin/bash
NAME=$1
ENV="$EPHEMERA_REPO_ID/$EPHEMERA_ENV_ID"
read -r _ _ _ _ GROUP _ < /proc/$$/stat
log() { local now=\${EPOCHREALTIME/./}; echo "$1 $NAME $EPHEMERA_PHASE $ENV $EPHEMERA_SHA \${now%???} $GROUP $PPID" >> '${logFile}'; }
log start
sleep "$2"
if [ "$EPHEMERA_PHASE" = setup ]; then
  touch '${markers}'/"$EPHEMERA_REPO_ID-$EPHEMERA_ENV_ID"
  echo "url=http://127.0.0.1:9/$EPHEMERA_ENV_ID-$EPHEMERA_SHA" >> "$EPHEMERA_OUTPUT"
else
  rm -f '${markers}'/"$EPHEMERA_REPO_ID-$EPHEMERA_ENV_ID"
fi
log end
`,
  );
  chmodSync(script, 0o755);
  return {
    dir,
    command: (step, seconds) => `exec /bin/bash ${script} ${step} ${seconds}`,
    lines: () => parseStepLog(readFileSync(logFile, "utf8")),
    markers: () => readdirSync(markers).map((name) => name.replace("-", "/")),
  };
}

export function parseStepLog(text: string): StepLine[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [kind, step = "", phase = "", env = "", sha = "", at, group, app] = line.split(" ");
      return { kind: kind === "end" ? "end" : "start", step, phase, env, sha, at: Number(at), group: Number(group), app: Number(app) };
    });
}

/**
 * Kills the process groups of this workspace's steps that are still running
 * (those that outlived their app); returns how many. A group is killed only
 * while its leader is still our script, never a process that reused the id.
 */
export function killUnfinishedSteps(workspace: StepWorkspace): number {
  const lines = workspace.lines();
  const ended = new Set(lines.filter((line) => line.kind === "end").map((line) => line.group));
  let killed = 0;
  for (const line of lines) {
    if (line.kind !== "start" || ended.has(line.group) || !isOurStep(line.group, workspace.dir)) continue;
    try {
      process.kill(-line.group, "SIGKILL");
      killed += 1;
    } catch {
      // Gone already.
    }
  }
  return killed;
}

function isOurStep(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(join(dir, "step.sh"));
  } catch {
    return false;
  }
}
