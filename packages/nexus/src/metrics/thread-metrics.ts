/**
 * The metrics of one API thread (the main thread or an API worker thread): a prom-client registry
 * that other parts of the thread add their own counters and gauges to, plus the request and
 * storage metrics of this thread. `snapshot()` is everything as prom-client metric JSON; the main
 * thread sums the snapshots of all threads for a scrape (see `scrape.ts`).
 */
import { Registry } from 'prom-client';
import { NEXUS_ROUTE_SPECS } from '@spike-ts/protocol';
import type { TrustRoots } from '@spike-ts/identity';
import { createCallerRoleOf } from './caller-role.ts';
import type { MetricJson } from './cells.ts';
import { createRequestMetrics, type RequestMetrics } from './request-metrics.ts';
import { createStoreMetrics, type StoreMetrics } from './store-metrics.ts';

export interface ThreadMetrics {
  /**
   * This thread's prom-client registry: register counters, gauges and histograms here
   * (`new Counter({ name, help, registers: [metrics.registry] })`); they are scraped with the
   * rest and summed over the threads. Names start with `spike_`; labels never carry a secret
   * path, a policy name or a value.
   */
  readonly registry: Registry;
  readonly requests: RequestMetrics;
  readonly store: StoreMetrics;
  /** Everything this thread counts, as prom-client metric JSON. */
  snapshot(): Promise<MetricJson[]>;
}

export function createThreadMetrics(trustRoots: TrustRoots): ThreadMetrics {
  const registry = new Registry();
  const requests = createRequestMetrics(NEXUS_ROUTE_SPECS, createCallerRoleOf(trustRoots));
  const store = createStoreMetrics();
  return {
    registry,
    requests,
    store,
    async snapshot() {
      const registered = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
      return [...requests.json(), ...store.json(), ...registered];
    },
  };
}
