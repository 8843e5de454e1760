import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from "parse-prometheus-text-format";
import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * Reading /metrics the way Prometheus does: the text parsed by a real
 * parser, then looked up by name and labels.
 */
export type Scrape = Map<string, PrometheusFamily>;

export function parseScrape(text: string): Scrape {
  return new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
}

export async function scrape(registry: Registry): Promise<Scrape> {
  return parseScrape(await registry.metrics());
}

type Labels = Partial<Record<string, string | number>>;
const sameLabels = (a: Labels, b: Labels) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** The one sample of `name` whose labels are exactly `labels`; undefined when there is none. */
function sampleOf(families: Scrape, name: string, labels: Record<string, string> = {}): PrometheusSample | undefined {
  return families.get(name)?.metrics.find((sample) => sameLabels(sample.labels ?? {}, labels));
}

/** A counter's or gauge's value (prom-client writes NaN as `Nan`, read back as NaN); undefined when the series is absent. */
export function valueOf(families: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const value = sampleOf(families, name, labels)?.value;
  return value === undefined ? undefined : Number(value);
}

/**
 * A histogram's count and sum for exactly `labels`; undefined when the
 * series is absent. Read from prom-client, not the text: the parser drops
 * the labels, sum and count of a labelled histogram
 * (yunyu/parse-prometheus-text-format#13).
 */
export async function histogramOf(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<{ count: number; sum: number } | undefined> {
  // A histogram's values name their series (`_bucket`, `_sum`, `_count`).
  const values = ((await registry.getSingleMetric(name)?.get())?.values ?? []) as Array<{ metricName?: string; labels: Labels; value: number }>;
  const find = (suffix: string) => values.find((value) => value.metricName === `${name}${suffix}` && sameLabels(value.labels, labels))?.value;
  const count = find("_count");
  const sum = find("_sum");
  return count === undefined || sum === undefined ? undefined : { count, sum };
}

/** The names `collectDefaultMetrics` registers on this Node, the only ones allowed without the `ephemera_` prefix. */
export async function defaultMetricNames(): Promise<Set<string>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return new Set((await scrape(registry)).keys());
}
