/** Result types of the Nexus benchmark and the repeated-run aggregation. */
import type { RunResult } from './load-protocol.ts';
import { median, spread } from './stats.ts';

export type ScenarioGroup = 'reads' | 'writes' | 'policies' | 'rss';

export interface MeasuredRun {
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly errors: number;
  readonly failures: Record<string, number>;
  /** CPU used by the Nexus process during the run, in percent of one core. */
  readonly nexusCpuPercent: number;
  /** CPU used by the load generator process during the run, in percent of one core. */
  readonly loadCpuPercent: number;
  /** CPU used by the database server's processes (PostgreSQL only), in percent of one core. */
  readonly databaseCpuPercent?: number;
}

export interface ScenarioResult {
  readonly id: string;
  readonly group: ScenarioGroup;
  readonly title: string;
  readonly concurrency: number;
  readonly policies: number;
  readonly runs: readonly MeasuredRun[];
  readonly median: { readonly throughput: number; readonly p50: number; readonly p99: number };
  /** (max - min) / median of each metric over the runs, in percent. */
  readonly spreadPercent: { readonly throughput: number; readonly p50: number; readonly p99: number };
}

export function measuredRun(
  r: RunResult,
  nexusCpuSeconds: number,
  loadCpuSeconds: number,
  databaseCpuSeconds?: number,
): MeasuredRun {
  const seconds = r.elapsedMs / 1000;
  return {
    throughput: Math.round(r.throughput),
    p50: round3(r.latencyMs.p50),
    p99: round3(r.latencyMs.p99),
    ok: r.ok,
    errors: r.errors,
    failures: r.failures,
    nexusCpuPercent: Math.round((nexusCpuSeconds / seconds) * 100),
    loadCpuPercent: Math.round((loadCpuSeconds / seconds) * 100),
    ...(databaseCpuSeconds === undefined
      ? {}
      : { databaseCpuPercent: Math.round((databaseCpuSeconds / seconds) * 100) }),
  };
}

export function aggregate(base: Omit<ScenarioResult, 'median' | 'spreadPercent'>): ScenarioResult {
  const pick = (f: (r: MeasuredRun) => number): number[] => base.runs.map(f);
  const pct = (values: number[]): number => Math.round(spread(values) * 1000) / 10;
  return {
    ...base,
    median: {
      throughput: Math.round(median(pick((r) => r.throughput))),
      p50: round3(median(pick((r) => r.p50))),
      p99: round3(median(pick((r) => r.p99))),
    },
    spreadPercent: {
      throughput: pct(pick((r) => r.throughput)),
      p50: pct(pick((r) => r.p50)),
      p99: pct(pick((r) => r.p99)),
    },
  };
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
