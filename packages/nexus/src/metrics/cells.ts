/**
 * Plain-number counters and histograms for the request path: recording is a few additions on
 * objects bound once per label set (no label hashing, no allocation), and the values become
 * prom-client's metric JSON only when scraped. That JSON is what `registry.getMetricsAsJSON()`
 * yields and what `AggregatorRegistry.aggregate` sums across the API threads.
 */
import type { MetricDef } from './catalog.ts';

export type LabelValues = Readonly<Record<string, string | number>>;

export interface MetricJsonValue {
  readonly labels: LabelValues;
  readonly value: number;
  /** `<name>_bucket`, `_sum`, `_count` for histogram samples. */
  readonly metricName?: string;
}

/** One metric family as prom-client's JSON has it. */
export interface MetricJson {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator: string;
  readonly values: readonly MetricJsonValue[];
}

export class CellCounter {
  readonly labels: LabelValues;
  value = 0;

  constructor(labels: LabelValues) {
    this.labels = labels;
  }
}

export class CellHistogram {
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly #counts: Float64Array;
  readonly labels: LabelValues;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[], labels: LabelValues) {
    this.labels = labels;
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }

  /** The samples of this label set: cumulative buckets, `+Inf`, sum and count. */
  samples(name: string, out: MetricJsonValue[]): void {
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i] as number;
      out.push({
        labels: { ...this.labels, le: this.#bounds[i] as number },
        value: cumulative,
        metricName: `${name}_bucket`,
      });
    }
    out.push({ labels: { ...this.labels, le: '+Inf' }, value: this.count, metricName: `${name}_bucket` });
    out.push({ labels: this.labels, value: this.sum, metricName: `${name}_sum` });
    out.push({ labels: this.labels, value: this.count, metricName: `${name}_count` });
  }
}

/** The JSON of a counter family from its cells (cells never used are left out unless `all`). */
export function counterJson(def: MetricDef, cells: Iterable<CellCounter>, all = false): MetricJson {
  const values: MetricJsonValue[] = [];
  for (const cell of cells)
    if (all || cell.value > 0) values.push({ labels: cell.labels, value: cell.value });
  return { name: def.name, help: def.help, type: 'counter', aggregator: 'sum', values };
}

/** The JSON of a histogram family (label sets never observed are left out unless `all`). */
export function histogramJson(def: MetricDef, cells: Iterable<CellHistogram>, all = false): MetricJson {
  const values: MetricJsonValue[] = [];
  for (const cell of cells) if (all || cell.count > 0) cell.samples(def.name, values);
  return { name: def.name, help: def.help, type: 'histogram', aggregator: 'sum', values };
}
