/**
 * Keeps the compiled policies of one thread coherent with a store that several Nexus processes
 * share (PostgreSQL; ADR 0032). The engine is tagged with the store revision its policies were
 * loaded at: an opaque token that never names two sets of policies, also across a failover or a
 * restore of the database (ADR 0049), compared for equality only. Before a request is authorized with the engine, `fresh()` reads the store's revision
 * (one small read) and, when it differs, reloads every policy from one snapshot first: a policy
 * change acknowledged by any replica is in force for the next request here, whether or not its
 * notification arrived. Notifications only make the reload happen early (off the request path).
 *
 * Cost control: concurrent requests share revision reads. A request waits for a read that started
 * after it arrived (the one in flight if none is, else the next one), so at most one read is in
 * flight per thread and a busy thread pays one round trip for many requests. Reloads are shared
 * the same way and reuse the compiled form of every policy whose record did not change.
 */
import type {
  CompiledPolicy,
  Logger,
  PolicyEngine,
  PolicyRecord,
  PolicyScan,
  SharedPolicies,
} from '@spike-ts/core';

export interface PolicySync {
  /** Resolves once the engine holds the policies as of a revision read started after the call. */
  fresh(): Promise<void>;
  /** The first load (at root-key installation): every policy and its revision. */
  load(): Promise<PolicyScan>;
  /** Stops watching notifications. */
  close(): void;
}

export interface PolicySyncOptions {
  readonly shared: SharedPolicies;
  readonly engine: PolicyEngine;
  readonly logger: Logger;
  /** Called with each reload's scan (damage counting and logging). */
  readonly onScan?: (scan: PolicyScan) => void;
}

/**
 * Wraps `op` so every caller gets a run that started after its call: the one in flight if nothing
 * runs, else the next one (shared by everyone who arrived while the current one ran).
 */
export function coalesce<T>(op: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let queued: Promise<T> | undefined;
  const launch = (): Promise<T> => {
    const p = op();
    running = p;
    const clear = (): void => {
      if (running === p) running = undefined;
    };
    p.then(clear, clear);
    return p;
  };
  const settled = (): undefined => undefined;
  return () => {
    if (running === undefined) return launch();
    queued ??= running.then(settled, settled).then(() => {
      queued = undefined;
      return launch();
    });
    return queued;
  };
}

function sameRecord(a: PolicyRecord, b: PolicyRecord): boolean {
  return (
    a.name === b.name &&
    a.spiffeIdPattern === b.spiffeIdPattern &&
    a.pathPattern === b.pathPattern &&
    a.createdTime === b.createdTime &&
    a.updatedTime === b.updatedTime &&
    a.permissions.length === b.permissions.length &&
    a.permissions.every((p, i) => p === b.permissions[i])
  );
}

export function createPolicySync(options: PolicySyncOptions): PolicySync {
  const { shared, engine, logger } = options;
  /** The store revision the engine's policies were loaded at (undefined before the first load). */
  let loadedAt: string | undefined;
  let stopWatching: (() => void) | undefined;
  let closed = false;

  const apply = (revision: string, scan: PolicyScan): void => {
    // Unchanged policies keep their compiled form: only changed ones are compiled again.
    const before = new Map<string, CompiledPolicy>();
    for (const p of engine.all()) before.set(p.name, p);
    const next = scan.policies.map((record) => {
      const old = before.get(record.name);
      return old !== undefined && sameRecord(old.record, record) ? old : record;
    });
    const result = engine.load(next);
    for (const r of result.rejected) logger.warn('stored policy ignored: it does not compile', r);
    for (const r of result.restricted) logger.warn('stored policy ignored on reserved system paths', r);
    loadedAt = revision;
    options.onScan?.(scan);
  };

  // Reloads run one at a time, in the order they started, so a later snapshot is never replaced
  // by an earlier one.
  const reload = coalesce(async () => {
    const { revision, scan } = await shared.scan();
    if (revision !== loadedAt) {
      apply(revision, scan);
      logger.debug('policies reloaded from the store', { revision, count: scan.policies.length });
    }
  });
  const readRevision = coalesce(() => shared.revision());

  const startWatching = (): void => {
    if (stopWatching !== undefined || closed) return;
    stopWatching = shared.watch(() => {
      // A hint: reload now, off any request's path. Failures are retried by the next request.
      void readRevision()
        .then((revision) => (revision === loadedAt ? undefined : reload()))
        .catch((err: unknown) => logger.debug('policy reload after a notification failed', { err }));
    });
  };

  return {
    async fresh() {
      const revision = await readRevision();
      if (revision === loadedAt) return;
      // A reload started after this revision read sees at least its revision.
      await reload();
    },
    async load() {
      const { revision, scan } = await shared.scan();
      apply(revision, scan);
      startWatching();
      return scan;
    },
    close() {
      closed = true;
      stopWatching?.();
      stopWatching = undefined;
    },
  };
}
