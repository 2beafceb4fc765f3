/**
 * Plain-HTTP health listener (our addition; SPIKE has none). It answers exactly two requests:
 * `GET /healthz` (the process is up) and `GET /readyz` (the root key is installed). It carries no
 * identity and reveals nothing else, except how many damaged store rows the last check found
 * (`damagedRows`, present only when above 0): a count, never a policy name or secret path. Each
 * connection carries one request (probes do not need keep-alive), so the header and request
 * timeouts bound its whole life; a cap on open connections keeps a flood from using up the
 * process's file descriptors.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { capConnections, timeoutCheckIntervalMs } from '@spike-ts/identity';
import { NO_CACHE_HEADERS, URL_HEALTH, URL_READY } from '@spike-ts/protocol';

export interface HealthServerOptions {
  readonly isReady: () => boolean;
  /** Damaged rows found by the last check (0 = none). */
  readonly damagedRows?: () => number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Most connections held at once (0 = no cap). */
  readonly maxConnections: number;
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
        reply(res, ready ? 200 : 503, damagedRows > 0 ? { ready, damagedRows } : { ready });
      } else {
        reply(res, 404, { err: 'api_not_found' });
      }
    },
  );
  capConnections(server, options.maxConnections);
  return server;
}
