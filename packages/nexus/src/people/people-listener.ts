/**
 * The people listener (ADR 0035): HTTPS with the operator's server certificate (no client
 * certificate), the same routes, bodies and errors as the mTLS port, for people presenting an OIDC
 * access token as `Authorization: Bearer <token>`. A request without a valid token is answered 401
 * by the same pipeline (and audited with the reason); the console, once mounted, is the only thing
 * here reachable without a token (everything under `/console/`).
 *
 * Same limits as the mTLS listener: request body size (the pipeline), header, request, keep-alive
 * and handshake timeouts, total connections (this listener runs on the main thread only), and
 * per-caller rate limits keyed by the person's principal.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Logger } from '@spike-ts/core';
import { capConnections, timeoutCheckIntervalMs } from '@spike-ts/identity';
import type { Caller } from '@spike-ts/core';
import type { AuditLog } from '../audit.ts';
import type { NexusConfig } from '../config.ts';
import type { RequestHandlerOptions } from '../http/router.ts';
import { createCallerLimiter, limitCallers } from '../http/limits.ts';
import type { RequestMetrics } from '../metrics/request-metrics.ts';
import type { TokenValidator } from './token-validator.ts';

/** Where the console is mounted; `/console` itself and everything below it. */
export const CONSOLE_PREFIX = '/console';

export interface PeopleListenerOptions {
  readonly config: NexusConfig;
  /** PEM server certificate chain and key (read at start from the configured files). */
  readonly certPem: string;
  readonly keyPem: string;
  readonly validator: TokenValidator;
  /** Builds the pipeline for the people door from how it knows the person. */
  readonly handlerFor: (door: Pick<RequestHandlerOptions, 'door' | 'person'>) => RequestListener;
  readonly audit: AuditLog;
  /** Counts the requests the per-person limits refuse (429), under the person's role. */
  readonly metrics?: RequestMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface PeopleListener {
  readonly server: Server;
  /** Mounts (or replaces) the console's handler under `/console/`. */
  mountConsole(handler: RequestListener): void;
}

/** Decided on the normalized path, as the API router reads it: `/console/../v1/…` is not the console. */
function isConsolePath(url: string | undefined): boolean {
  if (url === undefined || url.length > 8192) return false;
  let path: string;
  try {
    path = new URL(url, 'https://nexus.invalid').pathname;
  } catch {
    return false;
  }
  return path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`);
}

/** The token of `Bearer <token>` (scheme case-insensitive), '' when the header says something else. */
export function bearerToken(header: string): string {
  const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1] ?? '';
}

export function createPeopleListener(options: PeopleListenerOptions): PeopleListener {
  const { config, validator, logger } = options;
  const callers = new WeakMap<IncomingMessage, Caller>();
  const refusals = new WeakMap<IncomingMessage, string>();
  const handler = options.handlerFor({
    door: 'people-api',
    person: {
      callerOf: (req) => callers.get(req),
      refusalOf: (req) => refusals.get(req),
    },
  });
  const limiter = createCallerLimiter(
    config.rateLimit,
    options.now === undefined ? {} : { now: options.now },
  );
  const limited =
    limiter === undefined
      ? handler
      : limitCallers(handler, {
          limiter,
          peerId: (req) => {
            const caller = callers.get(req);
            return caller?.kind === 'person' ? caller.principal : undefined;
          },
          audit: options.audit,
          door: 'people-api',
          ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
          personRole: (req) => {
            const caller = callers.get(req);
            return caller?.kind === 'person' ? caller.role : undefined;
          },
          ...(options.now === undefined ? {} : { now: options.now }),
        });
  let consoleHandler: RequestListener | undefined;

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (consoleHandler !== undefined && isConsolePath(req.url)) {
      consoleHandler(req, res);
      return;
    }
    const header = req.headers.authorization;
    if (header === undefined) {
      refusals.set(req, 'missing_token');
      limited(req, res);
      return;
    }
    const token = bearerToken(header);
    if (token === '') {
      refusals.set(req, 'not_a_bearer_token');
      limited(req, res);
      return;
    }
    validator.validate(token).then(
      (result) => {
        if (result.ok) callers.set(req, result.caller);
        else refusals.set(req, result.reason);
        limited(req, res);
      },
      (err: unknown) => {
        logger.error('token validation failed unexpectedly', { err });
        refusals.set(req, 'validation_failed');
        limited(req, res);
      },
    );
  };

  const headersTimeout = config.headersTimeoutMs;
  const requestTimeout = Math.max(config.requestTimeoutMs, headersTimeout);
  const server = createServer(
    {
      cert: options.certPem,
      key: options.keyPem,
      minVersion: 'TLSv1.2',
      handshakeTimeout: config.handshakeTimeoutMs,
      requestTimeout,
      headersTimeout,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: timeoutCheckIntervalMs(headersTimeout, requestTimeout),
      maxHeaderSize: 16 * 1024,
    },
    listener,
  );
  capConnections(server, config.maxConnections);
  server.on('tlsClientError', (err) => {
    logger.debug('people listener: TLS handshake failed', { reason: err.message });
  });
  return {
    server,
    mountConsole(h) {
      consoleHandler = h;
    },
  };
}
