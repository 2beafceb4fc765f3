/**
 * Storage metrics of one thread: how long each storage operation took (any backend: the store
 * is wrapped), the size of each group-commit batch and the read cache's hits and misses (the
 * SQLite backend reports them through its observer). Labels are operation names and
 * `hit`/`miss`, never a path or a policy name.
 */
import type { SecretStore } from '@spike-ts/core';
import type { StoreObserver } from '@spike-ts/store';
import { COMMIT_BATCH, READ_CACHE, STORE_DURATION } from './catalog.ts';
import { CellCounter, CellHistogram, counterJson, histogramJson, type MetricJson } from './cells.ts';

export interface StoreMetrics {
  /** For the SQLite backend's options. */
  readonly observer: StoreObserver;
  /** `store` with every storage operation timed (the same store underneath). */
  instrument(store: SecretStore): SecretStore;
  json(): MetricJson[];
}

/** The timed operations: the `operation` label values. */
export const STORE_OPERATIONS = [
  'unlock',
  'getSecret',
  'getSecretVersion',
  'updateSecret',
  'listSecretPaths',
  'scanSecretPaths',
  'getPolicy',
  'listPolicies',
  'scanPolicies',
  'putPolicy',
  'deletePolicy',
  'listDamagedRows',
  'removeDamagedRow',
  // A shared store (PostgreSQL): the revision read before policy checks, and policy reloads.
  'policyRevision',
  'policyReload',
] as const;
type Operation = (typeof STORE_OPERATIONS)[number];

export function createStoreMetrics(): StoreMetrics {
  const durations = new Map<Operation, CellHistogram>(
    STORE_OPERATIONS.map((op) => [op, new CellHistogram(STORE_DURATION.buckets ?? [], { operation: op })]),
  );
  const batches = new CellHistogram(COMMIT_BATCH.buckets ?? [], {});
  const hits = new CellCounter({ result: 'hit' });
  const misses = new CellCounter({ result: 'miss' });

  /** Settles as `pending` does, once the time since `started` is recorded under `op`. */
  const timed = <T>(op: Operation, started: number, pending: Promise<T>): Promise<T> => {
    const cell = durations.get(op) as CellHistogram;
    return pending.then(
      (value) => {
        cell.observe((performance.now() - started) / 1000);
        return value;
      },
      (err: unknown) => {
        cell.observe((performance.now() - started) / 1000);
        throw err;
      },
    );
  };
  const now = (): number => performance.now();

  return {
    observer: {
      batchCommitted: (size) => batches.observe(size),
      cacheRead: (hit) => {
        if (hit) hits.value += 1;
        else misses.value += 1;
      },
    },
    instrument(store) {
      const shared = store.sharedPolicies;
      return {
        get kind() {
          return store.kind;
        },
        get persistent() {
          return store.persistent;
        },
        isUnlocked: () => store.isUnlocked(),
        isInitialized: () => store.isInitialized(),
        close: () => store.close(),
        unlock: (rootKey) => timed('unlock', now(), store.unlock(rootKey)),
        ...(store.ping === undefined ? {} : { ping: () => (store.ping as () => Promise<void>)() }),
        // Root-key rotation (ADR 0044) runs off the request path; its own metrics are gauges.
        ...(store.rotation === undefined ? {} : { rotation: store.rotation }),
        ...(shared === undefined
          ? {}
          : {
              sharedPolicies: {
                revision: () => timed('policyRevision', now(), shared.revision()),
                scan: () => timed('policyReload', now(), shared.scan()),
                watch: (onHint: () => void) => shared.watch(onHint),
              },
            }),
        getSecret: (path) => timed('getSecret', now(), store.getSecret(path)),
        getSecretVersion: (path, version) =>
          timed('getSecretVersion', now(), store.getSecretVersion(path, version)),
        updateSecret: (path, mutate) => timed('updateSecret', now(), store.updateSecret(path, mutate)),
        listSecretPaths: () => timed('listSecretPaths', now(), store.listSecretPaths()),
        scanSecretPaths: () => timed('scanSecretPaths', now(), store.scanSecretPaths()),
        getPolicy: (name) => timed('getPolicy', now(), store.getPolicy(name)),
        listPolicies: () => timed('listPolicies', now(), store.listPolicies()),
        scanPolicies: () => timed('scanPolicies', now(), store.scanPolicies()),
        putPolicy: (policy) => timed('putPolicy', now(), store.putPolicy(policy)),
        deletePolicy: (name) => timed('deletePolicy', now(), store.deletePolicy(name)),
        listDamagedRows: () => timed('listDamagedRows', now(), store.listDamagedRows()),
        removeDamagedRow: (table, id, version) =>
          timed('removeDamagedRow', now(), store.removeDamagedRow(table, id, version)),
      };
    },
    json() {
      return [
        histogramJson(STORE_DURATION, durations.values()),
        histogramJson(COMMIT_BATCH, [batches], true),
        counterJson(READ_CACHE, [hits, misses], true),
      ];
    },
  };
}
