/**
 * Per-caller request limits of the Nexus API and the per-thread share of every listener limit.
 *
 * Each SPIFFE ID gets a token bucket (`SPIKE_NEXUS_RATE_LIMIT_RPS` sustained, up to
 * `SPIKE_NEXUS_RATE_LIMIT_BURST` at once) and a cap on its requests in flight
 * (`SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY`). A request over either limit is answered 429
 * `api_rate_limited` with `Retry-After` and audited, and never reaches a route, so one noisy
 * workload cannot take the server's time from the others. O(1) per request; memory is bounded
 * by the number of tracked callers (least recently seen evicted first).
 *
 * With API threads every thread enforces its share (value ÷ threads, rounded up), so a caller
 * never gets more than the configured total. See ADR 0015.
 */
import { randomUuid, type PersonRole } from '@spike-ts/core';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { ErrorCode, ERROR_CODES } from '@spike-ts/protocol';
import type { AuditLog } from '../audit.ts';
import type { RequestMetrics } from '../metrics/request-metrics.ts';
import type { NexusConfig, RateLimitConfig } from '../config.ts';
import { sendJson } from './respond.ts';

/** Callers whose buckets are kept; beyond this, the least recently seen is forgotten. */
export const MAX_TRACKED_CALLERS = 10_000;

export type Admission =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly reason: 'rate' | 'concurrency'; readonly retryAfterS: number };

export interface CallerLimiter {
  /** Takes one request of `callerId`; `release` it when the request is over. */
  admit(callerId: string): Admission;
  /** Callers tracked right now. */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
  inFlight: number;
}

/** The limiter for `limits`, or undefined when every limit is off. */
export function createCallerLimiter(
  limits: RateLimitConfig,
  options: { readonly now?: () => number; readonly maxCallers?: number } = {},
): CallerLimiter | undefined {
  const { requestsPerSecond: rps, burst, concurrency } = limits;
  if (rps <= 0 && concurrency <= 0) return undefined;
  const now = options.now ?? Date.now;
  const maxCallers = Math.max(1, options.maxCallers ?? MAX_TRACKED_CALLERS);
  // Map order is insertion order: re-inserting on each use keeps the least recently seen first.
  const buckets = new Map<string, Bucket>();

  return {
    admit(callerId) {
      const t = now();
      let bucket = buckets.get(callerId);
      if (bucket === undefined) {
        if (buckets.size >= maxCallers) {
          const oldest = buckets.keys().next();
          if (oldest.done !== true) buckets.delete(oldest.value);
        }
        bucket = { tokens: burst, at: t, inFlight: 0 };
      } else {
        buckets.delete(callerId);
      }
      buckets.set(callerId, bucket);

      if (rps > 0) {
        bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, t - bucket.at) * rps) / 1000);
        bucket.at = t;
        if (bucket.tokens < 1) {
          return {
            ok: false,
            reason: 'rate',
            retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / rps)),
          };
        }
      }
      if (concurrency > 0 && bucket.inFlight >= concurrency) {
        return { ok: false, reason: 'concurrency', retryAfterS: 1 };
      }
      if (rps > 0) bucket.tokens -= 1;
      bucket.inFlight += 1;
      const held = bucket;
      let released = false;
      return {
        ok: true,
        release() {
          if (released) return;
          released = true;
          held.inFlight -= 1;
        },
      };
    },
    get size() {
      return buckets.size;
    },
  };
}

/** One thread's share of a limit: `value ÷ threads`, rounded up (0 stays 0 = off). */
export function threadShare(value: number, threads: number): number {
  return value <= 0 ? 0 : Math.max(1, Math.ceil(value / Math.max(1, threads)));
}

/** The rate limits one API thread enforces. */
export function threadRateLimit(config: NexusConfig): RateLimitConfig {
  const threads = config.apiThreads;
  const { requestsPerSecond, burst, concurrency } = config.rateLimit;
  return {
    requestsPerSecond: requestsPerSecond <= 0 ? 0 : requestsPerSecond / Math.max(1, threads),
    burst: threadShare(burst, threads),
    concurrency: threadShare(concurrency, threads),
  };
}

/** The listener options of one API thread's mTLS server (`createMtlsServer`). */
export function apiListenerLimits(config: NexusConfig): {
  handshakeTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerPeer: number;
} {
  return {
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    maxConnections: threadShare(config.maxConnections, config.apiThreads),
    maxConnectionsPerPeer: threadShare(config.maxConnectionsPerCaller, config.apiThreads),
  };
}

export interface CallerLimitOptions {
  readonly limiter: CallerLimiter;
  /** The caller's verified SPIFFE ID; undefined lets the request through (the router answers 401). */
  readonly peerId: (req: IncomingMessage) => string | undefined;
  readonly audit: AuditLog;
  /** The door its audit records name (default: none written, i.e. the mTLS port). */
  readonly door?: string;
  /** Counts each refused request (429) under its route, as the router counts the others. */
  readonly metrics?: RequestMetrics;
  /** The role of a person caller (the people listener), so 429s count under the person's role. */
  readonly personRole?: (req: IncomingMessage) => PersonRole | undefined;
  readonly now?: () => number;
  readonly newRequestId?: () => string;
}

const MAX_TARGET = 8192;

function targetOf(rawUrl: string | undefined): { route: string; action: string } {
  if (rawUrl === undefined || rawUrl.length > MAX_TARGET) return { route: '', action: '' };
  try {
    const url = new URL(rawUrl, 'https://nexus.invalid');
    return { route: url.pathname, action: url.searchParams.get('action') ?? '' };
  } catch {
    return { route: '', action: '' };
  }
}

/**
 * `handler` behind the per-caller limits: a request over a limit is answered 429
 * `{"err":"api_rate_limited"}` with `Retry-After` (seconds), audited with its caller, and the
 * connection closed if its body was not read. An admitted request counts as in flight until its
 * response is over (or the connection drops).
 */
export function limitCallers(handler: RequestListener, options: CallerLimitOptions): RequestListener {
  const now = options.now ?? Date.now;
  const newRequestId = options.newRequestId ?? randomUuid;
  return (req: IncomingMessage, res: ServerResponse) => {
    const caller = options.peerId(req);
    if (caller === undefined) {
      handler(req, res);
      return;
    }
    const admission = options.limiter.admit(caller);
    if (admission.ok) {
      res.once('close', () => admission.release());
      handler(req, res);
      return;
    }
    const started = now();
    const requestId = newRequestId();
    const code = ErrorCode.RateLimited;
    const status = ERROR_CODES[code].status;
    res.setHeader('Retry-After', String(admission.retryAfterS));
    sendJson(req, res, status, { err: code }, requestId);
    const target = targetOf(req.url);
    options.audit.record({
      time: new Date(started).toISOString(),
      requestId,
      caller,
      ...(options.door === undefined ? {} : { door: options.door }),
      ...target,
      decision: 'none',
      status,
      err: code,
      durationMs: Math.max(0, now() - started),
    });
    const metrics = options.metrics;
    if (metrics !== undefined) {
      // `meter` matches the route table only; any other target is the route `unknown`.
      metrics
        .meter(req.method === 'POST' ? { path: target.route, action: target.action } : undefined)
        .finish(metrics.roleOf(caller, options.personRole?.(req)), status, 'none', undefined);
    }
  };
}
