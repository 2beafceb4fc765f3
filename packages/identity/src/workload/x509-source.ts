/**
 * X509Source backed by the SPIFFE Workload API: keeps a `FetchX509SVID` stream open, validates
 * every message, and publishes the newest SVID and bundles. Reconnects with a linear backoff
 * (1 s, 2 s, … capped at 30 s, reset after a message) on UNAVAILABLE, CANCELLED,
 * PERMISSION_DENIED and clean stream ends; INVALID_ARGUMENT is fatal.
 *
 * While the Workload API cannot be reached it says so once, at warn level, with the socket and
 * what to start; further attempts are logged at debug level, with a short warn reminder every
 * `reminderMs` (default 30 s) until a message arrives again.
 */
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { parseOwnX509Svid } from '../svid.ts';
import type { X509Bundles, X509Source, X509Svid } from '../types.ts';
import { splitDer } from '../der.ts';
import { parseSpiffeId } from '../spiffe-id.ts';
import { readSetting, SPIKE_SPIFFE_SOURCE_TIMEOUT } from '@spike-ts/settings';
import { formatDuration } from './duration.ts';
import { SPIFFE_ENDPOINT_SOCKET_ENV, type WorkloadEndpoint } from './endpoint.ts';
import { trustDomainFromBundleKey } from './jwt.ts';
import { silentIdentityLogger } from './logger.ts';
import type { IdentityLogger } from './logger.ts';
import type { X509SvidResponseMessage } from './proto.ts';
import { WorkloadApiClient } from './workload-client.ts';

export const SOURCE_TIMEOUT_ENV = 'SPIKE_SPIFFE_SOURCE_TIMEOUT';
export const DEFAULT_SOURCE_TIMEOUT_MS = 30_000;

export interface X509SourceOptions {
  /** Workload API URL; default `SPIFFE_ENDPOINT_SOCKET`, then SPIRE's default agent socket. */
  endpoint?: string;
  /** How long to wait for the first SVID; default `SPIKE_SPIFFE_SOURCE_TIMEOUT` or 30 s. */
  timeoutMs?: number;
  logger?: IdentityLogger;
  env?: Record<string, string | undefined>;
  /** Backoff step and cap in milliseconds (defaults 1 s and 30 s). */
  backoffStepMs?: number;
  backoffMaxMs?: number;
  /** While unreachable, repeat a warn reminder this often (default 30 s); other retries log at debug. */
  reminderMs?: number;
}

/** Default interval of the "still cannot reach the Workload API" reminder. */
export const DEFAULT_UNAVAILABLE_REMINDER_MS = 30_000;

/** Codes that end the watch for good; everything else (UNAVAILABLE, CANCELLED, PERMISSION_DENIED, a clean end, …) is retried. */
const FATAL = new Set<number>([grpc.status.INVALID_ARGUMENT, grpc.status.UNIMPLEMENTED]);

/**
 * Resolves the first-SVID timeout from options or `SPIKE_SPIFFE_SOURCE_TIMEOUT` (the settings
 * table's rule; an invalid value throws `SettingsError` naming the variable).
 */
export function sourceTimeoutMs(
  explicit: number | undefined,
  env: Readonly<Record<string, string | undefined>>,
): number {
  if (explicit !== undefined) return explicit;
  return readSetting(env, SPIKE_SPIFFE_SOURCE_TIMEOUT);
}

/** Connects to the Workload API and resolves once the first valid X.509-SVID has arrived. */
export async function createX509Source(options: X509SourceOptions = {}): Promise<X509Source> {
  const env = options.env ?? process.env;
  const timeoutMs = sourceTimeoutMs(options.timeoutMs, env);
  const client = new WorkloadApiClient({ endpoint: options.endpoint, env });
  const source = new WorkloadX509Source(client, options.logger ?? silentIdentityLogger, {
    step: options.backoffStepMs ?? 1000,
    max: options.backoffMaxMs ?? 30_000,
    reminder: options.reminderMs ?? DEFAULT_UNAVAILABLE_REMINDER_MS,
  });
  const usedDefault = options.endpoint === undefined && (env[SPIFFE_ENDPOINT_SOCKET_ENV] ?? '') === '';
  return source.start(timeoutMs, usedDefault);
}

class WorkloadX509Source implements X509Source {
  readonly #client: WorkloadApiClient;
  readonly #log: IdentityLogger;
  readonly #backoff: { step: number; max: number; reminder: number };
  readonly #listeners = new Set<() => void>();
  #svid: X509Svid | undefined;
  #bundles: X509Bundles = new Map();
  #stream: grpc.ClientReadableStream<X509SvidResponseMessage> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #closed = false;
  #lastProblem = 'no response yet';
  /** When the current spell of failed attempts began, and when it was last reported at warn. */
  #unavailableSince: number | undefined;
  #lastReminder = 0;
  #firstResolve: (() => void) | undefined;
  #firstReject: ((err: Error) => void) | undefined;

  constructor(
    client: WorkloadApiClient,
    log: IdentityLogger,
    backoff: { step: number; max: number; reminder: number },
  ) {
    this.#client = client;
    this.#log = log;
    this.#backoff = backoff;
  }

  start(timeoutMs: number, usedDefaultEndpoint: boolean): Promise<X509Source> {
    const url = this.#client.endpoint.url;
    return new Promise<X509Source>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new Error(
          `timed out after ${formatDuration(timeoutMs)} waiting for an X.509-SVID from the SPIFFE Workload API ` +
            `at ${url}${usedDefaultEndpoint ? ` (the default; ${SPIFFE_ENDPOINT_SOCKET_ENV} is not set)` : ''}. ` +
            `Last problem: ${this.#lastProblem}. Check that the SPIRE agent or the dev identity issuer ` +
            `(spike-dev-identity) is running, that ${SPIFFE_ENDPOINT_SOCKET_ENV} points at its socket, ` +
            'that this process has permission to open the socket, and that a registration entry (identity) ' +
            `exists for this workload. Raise the wait with ${SOURCE_TIMEOUT_ENV} (e.g. 1m).`,
        );
        err.name = 'X509SourceTimeoutError';
        this.#fail(err);
      }, timeoutMs);
      this.#firstResolve = () => {
        clearTimeout(timer);
        resolve(this);
      };
      this.#firstReject = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this.#connect();
    });
  }

  #fail(err: Error): void {
    const reject = this.#firstReject;
    this.#firstResolve = undefined;
    this.#firstReject = undefined;
    void this.close();
    reject?.(err);
  }

  #connect(): void {
    if (this.#closed) return;
    this.#retryTimer = undefined;
    const stream = this.#client.fetchX509Svid();
    this.#stream = stream;
    let finished = false;
    const finish = (code: number, details: string): void => {
      if (finished) return;
      finished = true;
      if (this.#stream === stream) this.#stream = undefined;
      this.#onStreamEnd(code, details);
    };
    stream.on('data', (message: X509SvidResponseMessage) => this.#onMessage(message));
    stream.on('error', (err: grpc.ServiceError) => finish(err.code, err.details));
    stream.on('status', (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) finish(status.code, 'stream ended');
    });
  }

  #onStreamEnd(code: number, details: string): void {
    if (this.#closed) return;
    const codeName = grpc.status[code] ?? String(code);
    this.#lastProblem = `${codeName}: ${details}`;
    if (FATAL.has(code)) {
      const err = new Error(
        `the SPIFFE Workload API at ${this.#client.endpoint.url} rejected the request (${codeName}: ${details}); not retrying`,
      );
      this.#log.error('workload api stream failed permanently', {
        endpoint: this.#client.endpoint.url,
        code: codeName,
        details,
      });
      if (this.#firstReject !== undefined) this.#fail(err);
      return;
    }
    this.#attempt += 1;
    const delay = Math.min(this.#attempt * this.#backoff.step, this.#backoff.max);
    this.#reportUnavailable(codeName, details, delay);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  /** Once clearly at warn, then debug, with a warn reminder every `reminder` ms. */
  #reportUnavailable(codeName: string, details: string, retryInMs: number): void {
    const endpoint = this.#client.endpoint;
    const fields = { endpoint: endpoint.url, code: codeName, details, retryInMs };
    const now = Date.now();
    if (this.#unavailableSince === undefined) {
      this.#unavailableSince = now;
      this.#lastReminder = now;
      this.#log.warn(
        `cannot get an X.509-SVID: ${unavailableAdvice(endpoint, codeName, this.#backoff.reminder)}`,
        fields,
      );
      return;
    }
    if (now - this.#lastReminder >= this.#backoff.reminder) {
      this.#lastReminder = now;
      this.#log.warn(
        `still no SPIFFE Workload API at ${endpoint.url} (for ${formatDuration(now - this.#unavailableSince)}); retrying`,
        fields,
      );
      return;
    }
    this.#log.debug('workload api stream interrupted; reconnecting', fields);
  }

  #onMessage(message: X509SvidResponseMessage): void {
    if (this.#closed) return;
    this.#attempt = 0;
    if (this.#unavailableSince !== undefined) {
      this.#log.info('connected to the SPIFFE Workload API', { endpoint: this.#client.endpoint.url });
      this.#unavailableSince = undefined;
    }
    const first = message.svids[0];
    if (first === undefined) {
      this.#lastProblem = 'a response without any SVID';
      this.#log.warn('workload api sent a response without SVIDs; ignored', {
        endpoint: this.#client.endpoint.url,
      });
      return;
    }
    let svid: X509Svid;
    let bundles: Map<string, readonly Uint8Array[]>;
    try {
      const parsed = parseOwnX509Svid({
        spiffeId: first.spiffe_id,
        x509Svid: first.x509_svid,
        x509SvidKey: first.x509_svid_key,
        bundle: first.bundle,
        hint: first.hint,
      });
      svid = parsed.svid;
      bundles = new Map<string, readonly Uint8Array[]>();
      for (const [key, der] of Object.entries(message.federated_bundles)) {
        bundles.set(trustDomainFromBundleKey(key), splitDer(der));
      }
      bundles.set(parseSpiffeId(svid.spiffeId).trustDomain, parsed.bundleDer);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#lastProblem = `an invalid X.509-SVID response (${reason})`;
      this.#log.warn('workload api sent an invalid X.509-SVID; keeping the previous one', {
        endpoint: this.#client.endpoint.url,
        reason,
      });
      return;
    }
    this.#svid = svid;
    this.#bundles = bundles;
    this.#log.debug('x509 svid updated', { spiffeId: svid.spiffeId, notAfter: svid.notAfter.toISOString() });
    const resolve = this.#firstResolve;
    this.#firstResolve = undefined;
    this.#firstReject = undefined;
    resolve?.();
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (err) {
        this.#log.error('x509 source listener threw', { err });
      }
    }
  }

  getX509Svid(): X509Svid {
    if (this.#closed) throw new Error('X509Source is closed');
    if (this.#svid === undefined) throw new Error('X509Source has no SVID yet');
    return this.#svid;
  }

  getX509Bundles(): X509Bundles {
    if (this.#closed) throw new Error('X509Source is closed');
    return this.#bundles;
  }

  onUpdate(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) {
      stream.on('error', () => undefined);
      stream.cancel();
    }
    this.#client.close();
    this.#listeners.clear();
    const reject = this.#firstReject;
    this.#firstResolve = undefined;
    this.#firstReject = undefined;
    reject?.(new Error('X509Source was closed before the first SVID arrived'));
    return Promise.resolve();
  }
}

/**
 * The first warning while no SVID arrives: what is wrong, and what to do about it. A Workload API
 * that answers PERMISSION_DENIED is there but has no identity for this process, which starting
 * an agent would not fix.
 */
function unavailableAdvice(endpoint: WorkloadEndpoint, codeName: string, reminderMs: number): string {
  const quietly = `Retrying quietly; a reminder follows every ${formatDuration(reminderMs)}.`;
  if (codeName === 'PERMISSION_DENIED')
    return (
      `the SPIFFE Workload API ${endpoint.url} answers but has no identity for this process ` +
      `(PERMISSION_DENIED). Register it: a SPIRE registration entry whose selectors match this ` +
      `process (see docs/spire.md), or, with \`spike-dev-identity\`, the socket of the identity it ` +
      `should have. ${quietly}`
    );
  const what =
    endpoint.kind === 'unix' && !existsSync(endpoint.path)
      ? `the SPIFFE Workload API socket ${endpoint.path} does not exist`
      : `nothing answers at the SPIFFE Workload API ${endpoint.url} (${codeName})`;
  return (
    `${what}. Start the SPIRE agent (or, for development only, \`npx spike-dev-identity\`) and ` +
    `point ${SPIFFE_ENDPOINT_SOCKET_ENV} at its socket. ${quietly}`
  );
}
