/**
 * Plain-HTTP health listener (our addition; SPIKE has none). It answers exactly three requests:
 * `GET /healthz` (the process is up), `GET /readyz` (the root key is installed) and, with metrics
 * on, `GET /metrics` (Prometheus text: counts and timings by route, role and status; ADR 0027).
 * It carries no identity and reveals nothing else, except how many damaged store rows the last
 * check found (`damagedRows`, present only when above 0): a count, never a policy name or secret
 * path. Each
 * connection carries one request (probes do not need keep-alive), so the header and request
 * timeouts bound its whole life; a cap on open connections keeps a flood from using up the
 * process's file descriptors.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { capConnections, timeoutCheckIntervalMs } from '@spike-ts/identity';
import { NO_CACHE_HEADERS, URL_HEALTH, URL_READY } from '@spike-ts/protocol';

/** Where Prometheus scrapes the health listener. */
export const URL_METRICS = '/metrics';

/** What `GET /metrics` serves. */
export interface MetricsEndpoint {
  /** The Prometheus text (see `metrics/scrape.ts`). */
  scrape(): Promise<string>;
  readonly contentType: string;
  /** Told when a scrape fails (it is answered 500). */
  onError?(err: unknown): void;
}

export interface HealthServerOptions {
  readonly isReady: () => boolean;
  /**
   * A shared database (PostgreSQL): whether it answers now. Asked by `/readyz` once the root key
   * is installed; false (or no answer within `READY_DATABASE_TIMEOUT_MS`) makes it 503
   * `{"ready":false,"database":"unreachable"}`, so balancers stop sending requests that would
   * only get 503 answers.
   */
  readonly databaseReachable?: () => Promise<boolean>;
  /** Damaged rows found by the last check (0 = none). */
  readonly damagedRows?: () => number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Most connections held at once (0 = no cap). */
  readonly maxConnections: number;
  /** `GET /metrics`; without it the path is 404 like any other. */
  readonly metrics?: MetricsEndpoint;
}

/** How long `/readyz` waits for the database to answer before calling it unreachable. */
export const READY_DATABASE_TIMEOUT_MS = 2_000;

function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    Connection: 'close',
    ...NO_CACHE_HEADERS,
  });
  res.end(payload);
}

function serveMetrics(res: ServerResponse, metrics: MetricsEndpoint): void {
  metrics.scrape().then(
    (text) => {
      if (res.destroyed) return;
      res.writeHead(200, {
        'Content-Type': metrics.contentType,
        'Content-Length': Buffer.byteLength(text),
        Connection: 'close',
        ...NO_CACHE_HEADERS,
      });
      res.end(text);
    },
    (err: unknown) => {
      metrics.onError?.(err);
      if (!res.destroyed) reply(res, 500, { err: 'metrics_unavailable' });
    },
  );
}

export function createHealthServer(options: HealthServerOptions): Server {
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: timeoutCheckIntervalMs(options.headersTimeoutMs, options.requestTimeoutMs),
      maxHeaderSize: 8192,
    },
    (req, res) => {
      const path = (req.url ?? '').split('?', 1)[0];
      if (req.method === 'GET' && path === URL_HEALTH) {
        reply(res, 200, { status: 'ok' });
      } else if (req.method === 'GET' && path === URL_READY) {
        const ready = options.isReady();
        const damagedRows = options.damagedRows?.() ?? 0;
        const answer = (): void =>
          reply(res, ready ? 200 : 503, damagedRows > 0 ? { ready, damagedRows } : { ready });
        const database = options.databaseReachable;
        if (!ready || database === undefined) {
          answer();
          return;
        }
        withTimeout(database(), READY_DATABASE_TIMEOUT_MS).then(
          (reachable) => {
            if (res.destroyed) return;
            if (reachable) answer();
            else reply(res, 503, { ready: false, database: 'unreachable' });
          },
          () => {
            if (!res.destroyed) reply(res, 503, { ready: false, database: 'unreachable' });
          },
        );
      } else if (req.method === 'GET' && path === URL_METRICS && options.metrics !== undefined) {
        serveMetrics(res, options.metrics);
      } else {
        reply(res, 404, { err: 'api_not_found' });
      }
    },
  );
  capConnections(server, options.maxConnections);
  return server;
}
