/**
 * mTLS HTTP client: presents the source's X.509-SVID, accepts a server only if its SVID
 * verifies against the bundle of its own trust domain and `authorizeServer` approves the ID.
 *
 * The check runs in `checkServerIdentity` (before any request byte is sent) and again on
 * `secureConnect`, which also covers resumed sessions (for those Node skips
 * `checkServerIdentity`; the agent caches no sessions anyway). On every source update a fresh
 * agent serves new requests while the previous one finishes its requests and is destroyed.
 */
import https from 'node:https';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { SpiffeId } from './spiffe-id.ts';
import {
  PeerNotAuthorizedError,
  rememberPeer,
  secureContextOptions,
  getVerifiedPeer,
  verifyTlsPeer,
} from './mtls.ts';
import type { MtlsLogger, VerifiedPeer } from './mtls.ts';
import { verifyPeerX509Svid } from './svid.ts';
import type { X509Source } from './types.ts';

export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** The server at `url` could not be reached or was not accepted (see `cause`). */
export class MtlsConnectionError extends Error {
  readonly url: string;
  /**
   * False when the failure came before a verified TLS connection carried the request (refused,
   * unreachable, handshake or server-identity failure, timeout while connecting): the server saw
   * none of it. True when the request may have reached the server. Undefined: not known.
   */
  requestSent: boolean | undefined = undefined;
  constructor(url: string, cause: unknown, message?: string) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(message ?? `could not reach ${url}: ${why}`, { cause });
    this.name = 'MtlsConnectionError';
    this.url = url;
  }
}

export class MtlsTimeoutError extends MtlsConnectionError {
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    super(url, new Error('timeout'), `request to ${url} timed out after ${timeoutMs} ms`);
    this.name = 'MtlsTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

export class MtlsResponseTooLargeError extends Error {
  readonly url: string;
  readonly limitBytes: number;
  constructor(url: string, limitBytes: number) {
    super(`response from ${url} exceeds the limit of ${limitBytes} bytes`);
    this.name = 'MtlsResponseTooLargeError';
    this.url = url;
    this.limitBytes = limitBytes;
  }
}

export interface MtlsClientOptions {
  authorizeServer: (id: SpiffeId) => boolean;
  /** Default true. */
  keepAlive?: boolean;
  /** Per host:port; default 64. */
  maxSockets?: number;
  /** Whole-request deadline; default 30 s. */
  timeoutMs?: number;
  /** Default 32 MiB. */
  maxResponseBytes?: number;
  logger?: MtlsLogger;
  /** Clock for certificate validity checks (tests). */
  now?: () => Date;
}

export interface MtlsRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  timeoutMs?: number;
}

export interface MtlsResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The verified server identity of the connection that served this response. */
  peer: VerifiedPeer;
}

export interface MtlsClient {
  request(url: string, init?: MtlsRequestInit): Promise<MtlsResponse>;
  /** Destroys all connections; later requests fail. */
  close(): void;
}

interface Generation {
  agent: https.Agent;
  inflight: number;
  retired: boolean;
}

/** Chain from the `checkServerIdentity` certificate object (leaf, then issuers). */
function chainFromPeerCertificate(cert: tls.PeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [new Uint8Array(cert.raw)];
  let cur = cert as tls.DetailedPeerCertificate;
  while (chain.length < 16) {
    const next = cur.issuerCertificate as tls.DetailedPeerCertificate | undefined;
    if (next === undefined || next === cur || !Buffer.isBuffer(next.raw)) break;
    chain.push(new Uint8Array(next.raw));
    cur = next;
  }
  return chain;
}

export function createMtlsClient(source: X509Source, opts: MtlsClientOptions): MtlsClient {
  const now = opts.now ?? (() => new Date());
  const maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const log = opts.logger;
  let closed = false;

  const checkServerIdentity = (_host: string, cert: tls.PeerCertificate): Error | undefined => {
    try {
      const id = verifyPeerX509Svid(chainFromPeerCertificate(cert), source.getX509Bundles(), now());
      return opts.authorizeServer(id) ? undefined : new PeerNotAuthorizedError(id, 'server');
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  };

  class VerifyingAgent extends https.Agent {
    override createConnection(
      options: https.RequestOptions,
      callback?: (err: Error | null, stream: Duplex) => void,
    ): Duplex | null | undefined {
      const socket = super.createConnection(options, callback) as tls.TLSSocket;
      socket.once('secureConnect', () => {
        try {
          rememberPeer(
            socket,
            verifyTlsPeer(socket, source.getX509Bundles(), opts.authorizeServer, 'server', now()),
          );
        } catch (err) {
          log?.warn('mTLS server rejected', { reason: err instanceof Error ? err.message : String(err) });
          socket.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      });
      return socket;
    }
  }

  const buildGeneration = (): Generation => ({
    agent: new VerifyingAgent({
      ...secureContextOptions(source),
      keepAlive: opts.keepAlive ?? true,
      maxSockets: opts.maxSockets ?? 64,
      maxCachedSessions: 0,
      rejectUnauthorized: true,
      checkServerIdentity,
    }),
    inflight: 0,
    retired: false,
  });

  let current = buildGeneration();
  const retiring = new Set<Generation>();
  const release = (gen: Generation): void => {
    gen.inflight--;
    if (gen.retired && gen.inflight === 0) {
      gen.agent.destroy();
      retiring.delete(gen);
    }
  };

  const unsubscribe = source.onUpdate(() => {
    if (closed) return;
    let next: Generation;
    try {
      next = buildGeneration();
    } catch (err) {
      log?.warn('mTLS client could not apply rotated credentials', {
        reason: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    const old = current;
    current = next;
    old.retired = true;
    if (old.inflight === 0) old.agent.destroy();
    else retiring.add(old);
  });

  const request = (url: string, init: MtlsRequestInit = {}): Promise<MtlsResponse> => {
    if (closed) return Promise.reject(new MtlsConnectionError(url, new Error('client is closed')));
    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      return Promise.reject(new TypeError(`invalid URL: ${url}`, { cause: err }));
    }
    if (target.protocol !== 'https:')
      return Promise.reject(new TypeError(`only https URLs are supported: ${url}`));
    const gen = current;
    gen.inflight++;
    const timeoutMs = init.timeoutMs ?? opts.timeoutMs ?? 30_000;
    const body =
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? Buffer.from(init.body)
          : init.body;
    const headers: Record<string, string> = { ...init.headers };
    if (body !== undefined) headers['content-length'] = String(body.length);

    return new Promise<MtlsResponse>((resolve, reject) => {
      let settled = false;
      // Set once this request's socket is a verified TLS connection (new or reused): from then
      // on its bytes may have reached the server.
      let connected = false;
      const finish = (err: Error | undefined, res?: MtlsResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        release(gen);
        if (err instanceof MtlsConnectionError) err.requestSent = connected;
        if (err) reject(err);
        else resolve(res!);
      };
      const req = https.request(
        target,
        { method: init.method ?? 'GET', headers, agent: gen.agent },
        (res) => {
          // Read now: the socket is detached from the response once it goes back to the pool.
          const peer = res.socket ? getVerifiedPeer(res.socket) : undefined;
          const declared = Number(res.headers['content-length'] ?? '0');
          if (declared > maxResponseBytes) {
            abort(new MtlsResponseTooLargeError(url, maxResponseBytes));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxResponseBytes) {
              abort(new MtlsResponseTooLargeError(url, maxResponseBytes));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (err) => finish(wrap(url, err)));
          res.on('end', () => {
            if (peer === undefined) {
              finish(new MtlsConnectionError(url, new Error('server identity was not verified')));
              return;
            }
            finish(undefined, {
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
              peer,
            });
          });
        },
      );
      const abort = (err: Error): void => {
        finish(err);
        req.destroy();
      };
      const timer = setTimeout(() => abort(new MtlsTimeoutError(url, timeoutMs)), timeoutMs);
      req.on('socket', (socket) => {
        const tlsSocket = socket as tls.TLSSocket;
        const markConnected = (): void => {
          // The agent's own listener runs first and destroys a socket whose peer it rejects.
          if (!tlsSocket.destroyed && getVerifiedPeer(tlsSocket) !== undefined) connected = true;
        };
        if (getVerifiedPeer(tlsSocket) !== undefined) connected = true;
        else tlsSocket.once('secureConnect', markConnected);
      });
      req.on('error', (err) => finish(wrap(url, err)));
      req.end(body);
    });
  };

  return {
    request,
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      current.agent.destroy();
      for (const gen of retiring) gen.agent.destroy();
      retiring.clear();
    },
  };
}

function wrap(url: string, err: Error): Error {
  if (err instanceof MtlsConnectionError || err instanceof MtlsResponseTooLargeError) return err;
  return new MtlsConnectionError(url, err);
}
