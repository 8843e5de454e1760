import { existsSync, readFileSync } from "node:fs";

/**
 * Where a process spent its CPU, from the V8 profile `node --cpu-prof`
 * writes: by activity (each sample goes to the first ACTIVITIES entry that
 * a frame of its stack matches), self time by package (node_modules/<name>,
 * Ephemera's src/<dir>, Node's internals, native code, GC) and by function.
 * Idle time is left out of the shares.
 */

/** What a webhook server does, in order of precedence: a sample whose stack matches several counts for the first. */
const ACTIVITIES: ReadonlyArray<[string, RegExp]> = [
  ["garbage collection", /^\(garbage collector\) /],
  ["start-up: loading and compiling modules", /node:internal\/modules|compileSourceTextModule|\/tsx\/dist\/|\/esbuild\//],
  ["request log lines (pino, pino-http)", /\/node_modules\/(pino|pino-http|sonic-boom|@probot\/pino|pino-std-serializers)\//],
  // The intents of one turn of the event loop are written together, from TurnBatch's flush (src/store/turn-batch.ts).
  ["webhook hot path: store.recordIntent", /^(recordIntent|recordBatch) .*\/src\/store\/|^flush .*\/src\/store\/turn-batch\.ts/],
  ["Probot: an installation Octokit built for every event", /^webhookTransform /],
  ["HMAC-SHA256 signature check", /^(verify|verifyWithFallback) .*webhooks-methods/],
  ["webhook intake: body, HMAC, JSON.parse, dispatch (src/http/webhook-intake.ts)", /\/src\/http\/webhook-intake\.ts/],
  ["reconciler (src/lifecycle)", /\/src\/lifecycle\//],
  ["GitHub updates (src/github, Octokit requests, Bottleneck)", /\/src\/github\/|\/node_modules\/(bottleneck|@octokit\/(request|core|plugin-throttling|plugin-retry|endpoint|auth-app))\//],
  ["/metrics (prom-client)", /\/node_modules\/prom-client\/|\/src\/metrics\/(registry|store-gauges)/],
  ["webhook receive: body, JSON.parse, dispatch (Probot, @octokit/webhooks)", /\/node_modules\/(@octokit\/webhooks|probot)\//],
  ["the floor's request handler (HMAC, JSON.parse)", /\/bench\/lib\/floor-server\.ts/],
  ["HTTP: parse and answer (node:http)", /^[^ ]* node:(_http|net|internal\/streams)/],
  ["store, other calls (reconciler's)", /\/src\/store\/|\/node_modules\/(ioredis|better-sqlite3)\//],
];

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  byActivity: Share[];
  byPackage: Share[];
  topFunctions: Share[];
}

export function summariseProfile(file: string, top = 15): ProfileSummary | { file: string; missing: true } {
  if (!existsSync(file)) return { file, missing: true };
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const byActivity = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id);
    const micros = profile.timeDeltas[i] ?? 0;
    if (!node || node.callFrame.functionName === "(idle)") return;
    busy += micros;
    const activity = activityOf(stackOf(id, nodes, parents));
    byActivity.set(activity, (byActivity.get(activity) ?? 0) + micros);
    const where = packageOf(node.callFrame.url, node.callFrame.functionName);
    byPackage.set(where, (byPackage.get(where) ?? 0) + micros);
    const name = `${node.callFrame.functionName || "(anonymous)"} ${shortUrl(node.callFrame.url)}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  });
  const shares = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, ms: Math.round(micros / 1000), percent: Math.round((micros / busy) * 1000) / 10 }));
  return { file, busyMs: Math.round(busy / 1000), byActivity: shares(byActivity), byPackage: shares(byPackage), topFunctions: shares(byFunction) };
}

/** A sample's frames, innermost first, as `<function> <url>`. */
function stackOf(id: number, nodes: Map<number, ProfileNode>, parents: Map<number, number>): string[] {
  const frames: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
    const frame = nodes.get(at)?.callFrame;
    if (frame) frames.push(`${frame.functionName || "(anonymous)"} ${frame.url}`);
  }
  return frames;
}

function activityOf(frames: readonly string[]): string {
  for (const [activity, pattern] of ACTIVITIES) if (frames.some((frame) => pattern.test(frame))) return activity;
  return "other";
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native: V8 builtins, C++)";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules !== -1) {
    const [scope = "", name = ""] = url.slice(modules + "/node_modules/".length).split("/");
    return scope.startsWith("@") ? `${scope}/${name}` : scope;
  }
  if (url.startsWith("node:")) return "node: (core modules)";
  const src = /\/src\/([^/]+)\//.exec(url) ?? /\/(src)\/[^/]+$/.exec(url);
  if (src) return `ephemera src/${src[1]}`;
  return shortUrl(url);
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf("/node_modules/");
  if (modules !== -1) return url.slice(modules + "/node_modules/".length);
  const src = url.indexOf("/src/");
  if (src !== -1) return url.slice(src + 1);
  return url.replace(/^file:\/\//, "");
}
