/**
 * A scrape of `GET /metrics`: this thread's snapshot, the other API threads' snapshots (see
 * `threads/api-threads.ts`) and the totals of API threads that exited, summed per label set by
 * prom-client's `AggregatorRegistry.aggregate` and written in the Prometheus text format.
 *
 * A scrape costs the main thread work in proportion to the number of series (a few hundred),
 * so it must not be something a flood of scrapes can turn against the API: a scrape that starts
 * while another runs shares its result, and one that starts within `minIntervalMs` of the last
 * one gets that one's text again.
 */
import { AggregatorRegistry, Registry } from 'prom-client';
import type { MetricJson } from './cells.ts';
import type { ThreadMetrics } from './thread-metrics.ts';

/** What the other API threads report at a scrape. */
export interface OtherThreads {
  /**
   * Every other thread's snapshot (a thread that did not answer in time: its last one), plus the
   * counters and histograms of threads that exited; `stale` counts the threads not answering.
   */
  collectMetrics(): Promise<{
    readonly snapshots: readonly (readonly MetricJson[])[];
    readonly stale: number;
  }>;
}

export interface ScraperOptions {
  readonly own: ThreadMetrics;
  /** The other API threads, if any (asked at each scrape). */
  readonly others?: () => OtherThreads | undefined;
  /** Told how many threads answered late (the `spike_nexus_metrics_stale_threads` gauge). */
  readonly onStale?: (stale: number) => void;
  /** Default 1000. */
  readonly minIntervalMs?: number;
  /** Milliseconds (tests). Default `performance.now`. */
  readonly now?: () => number;
}

export interface Scraper {
  /** The Prometheus text of everything the Nexus counts. */
  scrape(): Promise<string>;
  /** The `Content-Type` of the text. */
  readonly contentType: string;
}

/** Sums snapshots per metric and label set (prom-client's cluster aggregation). */
export function aggregate(snapshots: readonly (readonly MetricJson[])[]): Registry {
  return AggregatorRegistry.aggregate<'text/plain; version=0.0.4; charset=utf-8'>(
    snapshots as MetricJson[][],
  );
}

export function createScraper(options: ScraperOptions): Scraper {
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const now = options.now ?? (() => performance.now());
  let inFlight: Promise<string> | undefined;
  let last: { at: number; text: string } | undefined;

  const collect = async (): Promise<string> => {
    const others = options.others?.();
    const fromOthers = others === undefined ? { snapshots: [], stale: 0 } : await others.collectMetrics();
    options.onStale?.(fromOthers.stale);
    const own = await options.own.snapshot();
    return aggregate([own, ...fromOthers.snapshots]).metrics();
  };

  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    scrape() {
      if (inFlight !== undefined) return inFlight;
      const t = now();
      if (last !== undefined && t >= last.at && t - last.at < minIntervalMs)
        return Promise.resolve(last.text);
      const run = collect().then(
        (text) => {
          last = { at: t, text };
          return text;
        },
        (err: unknown) => {
          last = undefined;
          throw err;
        },
      );
      inFlight = run.finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
