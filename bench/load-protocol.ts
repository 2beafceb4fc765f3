/** Messages between the benchmark driver and a load worker process (over the fork IPC channel). */
import type { LatencySummary } from './stats.ts';

export interface PolicySpec {
  readonly name: string;
  readonly spiffeidPattern: string;
  readonly pathPattern: string;
  readonly permissions: readonly string[];
  /** A multi-party approval rule (ADR 0042), sent as is. */
  readonly approval?: { readonly required: number; readonly approverGroups: readonly string[] };
}

export type LoadOp =
  /** Secret get (current version) of a random path `<prefix><0..keys-1>`. */
  | { readonly kind: 'get'; readonly prefix: string; readonly keys: number }
  /** Secret put of a `valueBytes`-byte value; path `<prefix><n mod keys>` with a running n from `start`. */
  | {
      readonly kind: 'put';
      readonly prefix: string;
      readonly keys: number;
      readonly start?: number;
      readonly valueBytes: number;
    }
  /** Policy upserts, one per item. */
  | { readonly kind: 'policy-put'; readonly policies: readonly PolicySpec[] }
  /** Policy deletes by name, one per item. */
  | { readonly kind: 'policy-delete'; readonly names: readonly string[] };

export interface RunRequest {
  readonly type: 'run';
  readonly op: LoadOp;
  readonly concurrency: number;
  /** Timed run: warm up, then measure for this long. */
  readonly durationMs?: number;
  readonly warmupMs?: number;
  /** Counted run: exactly this many requests (puts, or the policy or name list length). */
  readonly count?: number;
  /**
   * Close the worker's open connections first, so that this run opens new ones (with API threads
   * the kernel picks a thread per new connection; repeated runs then sample the threads).
   */
  readonly reconnect?: boolean;
}

export interface RunResult {
  readonly type: 'result';
  readonly ok: number;
  readonly errors: number;
  /** HTTP status (or `error`) → count, for everything that was not a 200. */
  readonly failures: Record<string, number>;
  readonly elapsedMs: number;
  readonly throughput: number;
  readonly latencyMs: LatencySummary;
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly spiffeId: string;
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly message: string;
}

export type WorkerMessage = RunResult | ReadyMessage | FailedMessage;
export type DriverMessage = RunRequest | { readonly type: 'stop' };
