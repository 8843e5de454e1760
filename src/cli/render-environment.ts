import { formatDuration, formatRelative } from "../config/duration.js";
import type { EnvironmentView } from "../read-model/describe-environment.js";
import { redactValue } from "../read-model/redact.js";
import { labelOf } from "./find-environment.js";

/**
 * `inspect`'s text: every field of one environment, its checkpoints and its
 * recent event log, for a person. Pure; values are redacted before they are
 * laid out (an output named `password` shows as `[redacted]`, a sealed one as
 * `[sealed]`).
 */
export function renderEnvironment(view: EnvironmentView, now: number): string[] {
  const { key, fields: rawFields, desired: rawDesired, inbox, shown, events, dueAt } = view;
  const fields = redactValue(rawFields);
  const desired = redactValue(rawDesired);
  const { config, artifacts } = fields;
  const when = (iso: string | undefined) => (iso === undefined ? "-" : `${iso} (${formatRelative(Date.parse(iso) - now)})`);
  const lines = [`${labelOf(view)}  (repository id ${key.repoId})`];
  const row = (name: string, value: string | number | boolean | undefined) => {
    if (value !== undefined && value !== "") lines.push(`  ${name.padEnd(14)}${String(value)}`);
  };

  row("status", fields.status ?? "new (not reconciled yet)");
  row("expires", when(fields.expires_at));
  row("url", artifacts?.url);
  if (config) {
    row("template", `${config.template} (ttl ${formatDuration(config.ttlMs)}${config.maxTtlMs ? `, max ${formatDuration(config.maxTtlMs)}` : ""})`);
    row("head", `${config.headRef} @ ${config.headSha}${config.fork ? " (fork)" : ""}`);
    row("installation", config.installationId);
  }
  row("blocked", artifacts?.blocked);
  row("error", artifacts?.error && `${artifacts.error.step}: ${artifacts.error.message}`);
  row("queue", artifacts?.queuePosition && `position ${artifacts.queuePosition}`);
  // Where the PR shows it: the notifier's record, or what an earlier release kept in the artifacts.
  row("comment", shown?.comment?.id ?? artifacts?.commentId);
  const deployments = shown ? shown.deployments.map(({ sha, id }) => [sha, id] as const) : Object.entries(artifacts?.deployments ?? {});
  row("deployments", deployments.map(([sha, id]) => `${sha.slice(0, 7)}: ${id}`).join(", "));
  const progress = artifacts?.progress;
  row("started", progress?.started.join(", "));
  row("torn down", progress?.tornDown.join(", "));
  row("retrying", progress?.retry && `${progress.retry.action} (attempt ${progress.retry.attempts}, next ${when(new Date(progress.retry.nextAt).toISOString())})`);
  row("next look", dueAt === null ? "never (not due)" : when(new Date(dueAt).toISOString()));
  row("pending", inbox.length === 0 ? undefined : `${inbox.length} intents: ${inbox.map((intent) => intent.type).join(", ")}`);
  if (desired) {
    const open = desired.open ? "open" : `closed (${desired.closeReason ?? "closed"})`;
    row("desired", `${open}, head ${desired.headSha.slice(0, 7) || "-"}, draft ${desired.draft}, labels [${desired.labels.join(", ")}], redeploy ${desired.redeployGeneration}${desired.approvedAt ? `, approved at ${desired.approvedAt}` : ""}${desired.approvedSha ? `, approved ${desired.approvedSha.slice(0, 7)}` : ""}`);
  }

  lines.push("", "checkpoints");
  const checkpoints = Object.entries(fields.checkpoints ?? {});
  if (checkpoints.length === 0) lines.push("  (none)");
  for (const [step, checkpoint] of checkpoints) {
    const outputs = Object.entries(checkpoint.outputs).map(([name, value]) => `${name}=${value}`);
    const at = checkpoint.at === undefined ? "" : ` at ${checkpoint.at}`;
    lines.push(`  ${step.padEnd(14)}${checkpoint.sha.slice(0, 7)}${at}${outputs.length > 0 ? `  ${outputs.join(" ")}` : ""}`);
  }

  lines.push("", `events (last ${events.length}, oldest first)`);
  if (events.length === 0) lines.push("  (none)");
  for (const event of redactValue(events)) lines.push(`  ${event.at}  ${event.event}${event.detail ? `  ${event.detail}` : ""}`);
  return lines;
}
