/**
 * API threads, main-thread side (`SPIKE_NEXUS_API_THREADS` > 1).
 *
 * Worker threads (`api-worker.ts`) listen on the API port beside the main thread (`reusePort`:
 * the kernel spreads connections over the threads). A worker answers `secret get` itself from its
 * own SQLite connection, policy engine and sealed read cache, and hands every other request to
 * the main thread, which runs the very same request handler on it: as one message each way on
 * the worker's request port (`direct.ts`) when its body size is declared and within the limit,
 * else over an in-process bridge (a `MessagePort` per connection, accepted here by an internal
 * HTTP server). The caller's SPIFFE ID, checked by the worker's mTLS layer, travels in a header
 * that is trusted on these two paths only.
 *
 * Coherence: the main thread is the only writer. Two ordered feeds go from it to every worker
 * (`feed.ts`): the paths of the secrets each commit changed (the worker drops those entries from
 * its read cache) and each change of its policy engine (the worker's engine replays it). A worker
 * catches up with both, synchronously, before it answers a read, so a write or policy change
 * acknowledged on one connection is seen by the next request on any other. The root key is
 * posted to each worker once the main thread has it; until a worker has installed it, the worker
 * hands its reads to the main thread too. A worker's audit records go to the main thread over a
 * port of their own, so the audit file and the syslog connection have one writer (ADR 0029).
 */
import http from 'node:http';
import type { IncomingMessage, RequestListener } from 'node:http';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { CompiledPolicy, Logger, PolicyChange } from '@spike-ts/core';
import { isSpikeCompatibleId } from '@spike-ts/identity';
import type { MetricJson } from '../metrics/cells.ts';
import { aggregate, type OtherThreads } from '../metrics/scrape.ts';
import { serveDirect } from './direct.ts';
import { createFeed } from './feed.ts';
import { policyBody, policySnapshot, type PolicyBody } from './policy-feed.ts';
import { PortDuplex } from './port-duplex.ts';
import { startApiWorker } from './start-worker.ts';

/** Header that carries the caller's SPIFFE ID over the bridge ('' = none). */
export const BRIDGE_PEER_HEADER = 'x-spike-bridge-peer';
/** Index in the shared counters: the commit feed (secret paths each commit changed). */
export const COMMITS = 0;
/** Index in the shared counters: sequence number of the last policy change posted to workers. */
export const POLICY_CHANGES = 1;

export type WorkerToMain =
  | { readonly type: 'bridge'; readonly port: MessagePort }
  | { readonly type: 'listening' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: readonly MetricJson[] };
export type MainToWorker =
  | { readonly type: 'root-key'; readonly key: Uint8Array }
  | { readonly type: 'stop' }
  | { readonly type: 'metrics'; readonly id: number };

/** How long a scrape waits for an API thread's metrics before using its previous ones. */
export const METRICS_TIMEOUT_MS = 2_000;

export interface ApiWorkerData {
  readonly index: number;
  readonly counters: Int32Array;
  /** Policy changes of the main thread (see `policy-feed.ts`), starting with a full snapshot. */
  readonly policyPort: MessagePort;
  /** The secret paths each commit of the main thread changed (`readonly string[]` bodies). */
  readonly commitPort: MessagePort;
  /** The worker's audit lines (string bodies) go to the main thread's audit sinks. */
  readonly auditPort: MessagePort;
  /** Requests the worker hands to the main thread, one message each way (`direct.ts`). */
  readonly requestPort: MessagePort;
  /** Where the main thread's API server is bound (the port actually bound, never 0). */
  readonly port: number;
  readonly host: string | undefined;
}

export function createCounters(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

export interface ApiThreadsOptions {
  /** Worker threads to start (the main thread serves too). */
  readonly workers: number;
  readonly counters: Int32Array;
  /** The main thread's request handler; bridged requests go through it. */
  readonly handler: RequestListener;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly logger: Logger;
  /** Calls `fn` with the root key once there is one (and right away if there is). */
  readonly onRootKey: (fn: (key: Uint8Array) => void) => void;
  /** The main thread's policies now, in evaluation order. */
  readonly policies: () => readonly CompiledPolicy[];
  /** Audit lines of a worker (one or more records, each ending in a newline). */
  readonly onAudit: (lines: string) => void;
  /** The worker script (tests replace it). */
  readonly workerUrl?: URL;
  /**
   * Delay before restarting a worker that exited: `firstMs`, doubled after each exit of a worker
   * that ran less than `stableMs`, at most `maxMs`. Defaults 1 s, 30 s, 60 s.
   */
  readonly restart?: { readonly firstMs: number; readonly maxMs: number; readonly stableMs: number };
  /** How long a scrape waits for a worker's metrics (default `METRICS_TIMEOUT_MS`). */
  readonly metricsTimeoutMs?: number;
}

export interface ApiThreads extends OtherThreads {
  /** Worker threads running (listening) now. */
  readonly running: number;
  /** Workers that exited unexpectedly and were scheduled for a restart. */
  readonly restarts: number;
  /** The caller of a bridged request, or null when `req` did not come over a bridge. */
  bridgedPeer(req: IncomingMessage): string | undefined | null;
  /** Posts a change of the main thread's policies to every worker (call after each change). */
  policyChanged(change: PolicyChange): void;
  /** Posts the secret paths a commit changed to every worker (call after each commit). */
  committed(secretPaths: readonly string[]): void;
  /** Posts the main thread's root key again to every worker (after a root-key rotation, ADR 0044). */
  rootKeyChanged(): void;
  /** Starts the workers on the main thread's bound port; resolves once each one listens. */
  start(port: number, host: string | undefined): Promise<void>;
  stop(): Promise<void>;
}

export function createApiThreads(options: ApiThreadsOptions): ApiThreads {
  const log = options.logger.child({ component: 'api-threads' });
  const bridged = new WeakSet<object>();
  const internal = http.createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
    },
    options.handler,
  );
  const workers = new Set<Worker>();
  const policyFeed = createFeed<PolicyBody>(options.counters, POLICY_CHANGES);
  const commitFeed = createFeed<readonly string[]>(options.counters, COMMITS);
  const restart = options.restart ?? { firstMs: 1_000, maxMs: 30_000, stableMs: 60_000 };
  /** Per worker index: exits in a row of a worker that did not run for `stableMs`. */
  const quickExits = new Map<number, number>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let restarts = 0;
  // Metrics: the last snapshot of each listening worker, and the summed counters and histograms
  // of workers that exited, so the totals of a scrape never go down when a worker restarts.
  const listening = new Set<Worker>();
  const snapshots = new Map<Worker, readonly MetricJson[]>();
  let retired: readonly MetricJson[] = [];
  let retiring: Promise<void> = Promise.resolve();
  let metricsRequests = 0;
  const metricsTimeoutMs = options.metricsTimeoutMs ?? METRICS_TIMEOUT_MS;

  const retire = (worker: Worker): void => {
    const last = snapshots.get(worker);
    snapshots.delete(worker);
    listening.delete(worker);
    if (last === undefined) return;
    const cumulative = last.filter((m) => m.type === 'counter' || m.type === 'histogram');
    retiring = retiring
      .then(async () => {
        retired = (await aggregate([retired, cumulative]).getMetricsAsJSON()) as unknown as MetricJson[];
      })
      .catch((err: unknown) => log.warn('could not keep the metrics of an exited API thread', { err }));
  };

  /** Asks `worker` for its metrics; true once they arrived, false after the timeout or an exit. */
  const askMetrics = (worker: Worker): Promise<boolean> =>
    new Promise((resolve) => {
      const id = ++metricsRequests;
      const finish = (answered: boolean): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(answered);
      };
      const onMessage = (msg: WorkerToMain): void => {
        if (msg.type === 'metrics' && msg.id === id) {
          snapshots.set(worker, msg.metrics);
          finish(true);
        }
      };
      const onExit = (): void => finish(false);
      const timer = setTimeout(() => finish(false), metricsTimeoutMs);
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      const msg: MainToWorker = { type: 'metrics', id };
      worker.postMessage(msg);
    });

  // A worker that exits is started again (with the policy snapshot and, once listening, the root
  // key, like the first time); until then its connections are gone and new ones go to the others.
  const scheduleRestart = (index: number, port: number, host: string | undefined, ranMs: number): void => {
    const exits = ranMs >= restart.stableMs ? 0 : (quickExits.get(index) ?? 0) + 1;
    quickExits.set(index, exits);
    restarts += 1;
    const delayMs = Math.min(restart.firstMs * 2 ** Math.max(0, exits - 1), restart.maxMs);
    log.error('API thread exited; restarting it, the other threads keep serving', {
      thread: index,
      inMs: delayMs,
    });
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (stopping) return;
      startWorker(index, port, host, true).then(
        () => log.info('API thread restarted', { thread: index }),
        (err: unknown) => log.error('API thread could not be restarted', { thread: index, err }),
      );
    }, delayMs);
    restartTimers.add(timer);
  };

  const sendRootKey = (worker: Worker): void => {
    options.onRootKey((key) => {
      // A fresh 32-byte buffer: postMessage copies a view's whole underlying buffer. The worker
      // zeroes its copy once installed; ours is zeroed here.
      const copy = Uint8Array.from(key);
      try {
        const msg: MainToWorker = { type: 'root-key', key: copy };
        worker.postMessage(msg);
      } finally {
        copy.fill(0);
      }
    });
  };

  const startWorker = (
    index: number,
    port: number,
    host: string | undefined,
    isRestart = false,
  ): Promise<void> =>
    new Promise((resolve, reject) => {
      const startedAt = Date.now();
      const policies = new MessageChannel();
      policyFeed.subscribe(policies.port1, policySnapshot(options.policies()));
      const commits = new MessageChannel();
      commitFeed.subscribe(commits.port1, []);
      const audit = new MessageChannel();
      audit.port1.on('message', (lines: unknown) => {
        if (typeof lines === 'string') options.onAudit(lines);
      });
      const requests = new MessageChannel();
      // Stands for the worker's connections: the peer header is trusted on it as on a bridge.
      const directSocket = {};
      bridged.add(directSocket);
      serveDirect(requests.port1, options.handler, directSocket, BRIDGE_PEER_HEADER);
      const workerData: ApiWorkerData = {
        index,
        counters: options.counters,
        policyPort: policies.port2,
        commitPort: commits.port2,
        auditPort: audit.port2,
        requestPort: requests.port2,
        port,
        host,
      };
      const worker = startApiWorker(options.workerUrl, {
        workerData,
        transferList: [policies.port2, commits.port2, audit.port2, requests.port2],
      });
      workers.add(worker);
      let started = false;
      worker.on('message', (msg: WorkerToMain) => {
        if (msg.type === 'bridge') {
          const socket = new PortDuplex(msg.port);
          bridged.add(socket);
          internal.emit('connection', socket);
        } else if (msg.type === 'listening') {
          started = true;
          listening.add(worker);
          sendRootKey(worker);
          resolve();
        } else if (msg.type === 'failed') {
          reject(new Error(`API thread ${String(index)}: ${msg.message}`));
        }
      });
      worker.on('error', (err: unknown) => {
        log.error('API thread failed', { thread: index, err });
        if (!started) reject(err instanceof Error ? err : new Error(String(err)));
      });
      worker.on('exit', (code) => {
        workers.delete(worker);
        retire(worker);
        policyFeed.unsubscribe(policies.port1);
        commitFeed.unsubscribe(commits.port1);
        commits.port1.close();
        policies.port1.close();
        audit.port1.close();
        requests.port1.close();
        if (!started) reject(new Error(`API thread ${String(index)} exited with code ${String(code)}`));
        // A worker that fails at Nexus's start fails the start; any later exit is retried.
        if (!stopping && (started || isRestart)) scheduleRestart(index, port, host, Date.now() - startedAt);
      });
    });

  return {
    get running() {
      return listening.size;
    },
    rootKeyChanged() {
      for (const worker of listening) sendRootKey(worker);
    },
    get restarts() {
      return restarts;
    },
    async collectMetrics() {
      const asked = [...listening];
      const answered = await Promise.all(asked.map(askMetrics));
      await retiring;
      const out: (readonly MetricJson[])[] = [];
      for (const worker of asked) {
        const snapshot = snapshots.get(worker);
        if (snapshot !== undefined) out.push(snapshot);
      }
      if (retired.length > 0) out.push(retired);
      return { snapshots: out, stale: answered.filter((ok) => !ok).length };
    },
    policyChanged(change) {
      policyFeed.publish(policyBody(change));
    },
    committed(secretPaths) {
      // A commit of policies alone changes no cached secret: nothing to tell the workers.
      if (secretPaths.length > 0) commitFeed.publish(secretPaths);
    },
    bridgedPeer(req) {
      if (!bridged.has(req.socket)) return null;
      const value = req.headers[BRIDGE_PEER_HEADER];
      return typeof value === 'string' && value !== '' && isSpikeCompatibleId(value) ? value : undefined;
    },
    async start(port, host) {
      await Promise.all(Array.from({ length: options.workers }, (_, i) => startWorker(i + 1, port, host)));
    },
    async stop() {
      stopping = true;
      for (const timer of restartTimers) clearTimeout(timer);
      restartTimers.clear();
      await Promise.all(
        [...workers].map(async (worker) => {
          const exited = new Promise((resolve) => worker.once('exit', resolve));
          const msg: MainToWorker = { type: 'stop' };
          worker.postMessage(msg);
          const timer = setTimeout(() => void worker.terminate(), 5_000);
          await exited;
          clearTimeout(timer);
        }),
      );
      internal.closeAllConnections();
    },
  };
}
