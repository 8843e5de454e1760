/**
 * Store port calls as the server counts them itself: every call through the
 * StateStore is timed by src/metrics/instrument-store.ts, so the count of
 * `ephemera_store_operation_duration_seconds` per `operation` is a counting
 * client built into the server, for either adapter.
 */
const LINE = /^ephemera_store_operation_duration_seconds_count\{operation="([^"]+)"\} (\d+(?:\.\d+)?)$/gm;

export async function storeCalls(metricsUrl: string): Promise<Record<string, number>> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`GET ${metricsUrl} answered ${response.status}`);
  const calls: Record<string, number> = {};
  for (const [, operation, count] of (await response.text()).matchAll(LINE)) calls[operation as string] = Number(count);
  return calls;
}
