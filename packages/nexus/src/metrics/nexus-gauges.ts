/**
 * The main thread's gauges: readiness and root-key state, damaged rows, what custody last saw
 * of each keeper, and the API threads. Each is read from its owner when scraped, so nothing is
 * recorded on the request path.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { KeeperState } from '../custody-port.ts';
import type { RotationMetrics } from '../rotation/root-key-rotation.ts';
import type { NexusState } from '../state.ts';
import {
  API_THREAD_RESTARTS,
  API_THREADS,
  DAMAGED_ROWS,
  KEEPER_STATE,
  READY,
  ROOT_KEY,
  ROOT_KEY_GENERATION,
  ROTATION_IN_PROGRESS,
  ROTATION_ROWS_REMAINING,
  ROTATION_ROWS_RESEALED,
  STALE_THREADS,
  type MetricDef,
} from './catalog.ts';

export const KEEPER_STATES: readonly KeeperState['state'][] = ['ok', 'reseeded', 'unreachable', 'unknown'];

export interface GaugeSources {
  readonly state: NexusState;
  /** What custody last saw of each keeper, in SPIKE_NEXUS_KEEPER_PEERS order (none: no keepers). */
  readonly keepers: () => readonly KeeperState[];
  /** API worker threads running now, and how many exited and were restarted. */
  readonly threads: () => { readonly running: number; readonly restarts: number };
  /** Also prom-client's default process and Node.js metrics (once per process: `spike-nexus`). */
  readonly processMetrics?: boolean;
  /** Where root-key rotation stands (ADR 0044); absent: the generation gauges read 0. */
  readonly rotation?: () => RotationMetrics;
}

export interface NexusGauges {
  /** The stale-threads gauge of the last scrape. */
  setStale(stale: number): void;
}

function config<T extends string>(
  d: MetricDef,
  registry: Registry,
): { name: string; help: string; labelNames: T[]; registers: Registry[] } {
  return { name: d.name, help: d.help, labelNames: [...d.labels] as T[], registers: [registry] };
}

export function registerNexusGauges(registry: Registry, sources: GaugeSources): NexusGauges {
  const { state } = sources;
  new Gauge({
    ...config(READY, registry),
    collect() {
      this.set(state.isReady() ? 1 : 0);
    },
  });
  new Gauge({
    ...config(ROOT_KEY, registry),
    collect() {
      this.set(state.hasRootKey() ? 1 : 0);
    },
  });
  const rotation = (): RotationMetrics =>
    sources.rotation?.() ?? { generation: 0, inProgress: false, rowsRemaining: 0, rowsResealed: 0 };
  new Gauge({
    ...config(ROOT_KEY_GENERATION, registry),
    collect() {
      this.set(rotation().generation);
    },
  });
  new Gauge({
    ...config(ROTATION_IN_PROGRESS, registry),
    collect() {
      this.set(rotation().inProgress ? 1 : 0);
    },
  });
  new Gauge({
    ...config(ROTATION_ROWS_REMAINING, registry),
    collect() {
      this.set(rotation().rowsRemaining);
    },
  });
  let resealedSeen = 0;
  new Counter({
    ...config(ROTATION_ROWS_RESEALED, registry),
    collect() {
      const now = rotation().rowsResealed;
      if (now > resealedSeen) this.inc(now - resealedSeen);
      resealedSeen = now;
    },
  });
  new Gauge({
    ...config<'table'>(DAMAGED_ROWS, registry),
    collect() {
      const damage = state.damagedRows();
      this.set({ table: 'policies' }, damage.policies);
      this.set({ table: 'secrets' }, damage.secrets);
      this.set({ table: 'secret_versions' }, damage.secret_versions);
    },
  });
  new Gauge({
    ...config<'keeper' | 'state'>(KEEPER_STATE, registry),
    collect() {
      this.reset();
      sources.keepers().forEach((k, i) => {
        for (const s of KEEPER_STATES) this.set({ keeper: String(i + 1), state: s }, k.state === s ? 1 : 0);
      });
    },
  });
  new Gauge({
    ...config(API_THREADS, registry),
    collect() {
      this.set(1 + sources.threads().running);
    },
  });
  new Counter({
    ...config(API_THREAD_RESTARTS, registry),
    collect() {
      this.reset();
      this.inc(sources.threads().restarts);
    },
  });
  const stale = new Gauge(config(STALE_THREADS, registry));
  if (sources.processMetrics === true) registerProcessMetrics(registry);
  return { setStale: (n) => stale.set(n) };
}

/**
 * prom-client's default process and Node.js metrics, except the few that break Prometheus's
 * naming rules (gauges named `*_total`, e.g. `nodejs_active_handles_total`, the sum of the
 * `nodejs_active_handles` gauge by type): what Nexus serves passes `promtool check metrics`.
 */
function registerProcessMetrics(registry: Registry): void {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  for (const metric of defaults.getMetricsAsArray() as unknown as Metric[]) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type !== 'counter' && name.endsWith('_total')) continue;
    registry.registerMetric(metric);
  }
}
