/**
 * mTLS server glue: an HTTPS server that requires a client X.509-SVID and runs the shared peer
 * checks of `mtls.ts` on every connection. Kept apart so clients do not load server code.
 */
import https from 'node:https';
import type http from 'node:http';
import type tls from 'node:tls';
import { constants as cryptoConstants } from 'node:crypto';
import { capConnections, createPeerConnectionLimit, timeoutCheckIntervalMs } from './listener-limits.ts';
import { rememberPeer, secureContextOptions, verifyTlsPeer, type MtlsLogger } from './mtls.ts';
import type { SpiffeId } from './spiffe-id.ts';
import type { X509Source } from './types.ts';

export interface MtlsServerOptions {
  /** Connection-level authorization; default: any valid SVID of a trusted trust domain. */
  authorizePeer?: (id: SpiffeId) => boolean;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  /** Most connections held at once, handshaking or not (default 1024; 0 = no cap). */
  maxConnections?: number;
  /** Most connections one verified SPIFFE ID holds at once (default 0 = no cap). */
  maxConnectionsPerPeer?: number;
  /** Maximum size of request headers in bytes (default 16 KiB). */
  maxHeaderSize?: number;
  logger?: MtlsLogger;
  /** Clock for certificate validity checks (tests). */
  now?: () => Date;
}

const SERVER_SECURE_OPTIONS = cryptoConstants.SSL_OP_NO_TICKET;

/**
 * HTTPS server that requires a client X.509-SVID, runs the SPIFFE checks and `authorizePeer`
 * on every connection, and follows the source's rotations. TLS session tickets are disabled;
 * the checks also run on resumed sessions.
 */
export function createMtlsServer(
  source: X509Source,
  opts: MtlsServerOptions,
  handler: http.RequestListener,
): https.Server {
  const authorize = opts.authorizePeer ?? (() => true);
  const now = opts.now ?? (() => new Date());
  const log = opts.logger;
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(opts.requestTimeoutMs ?? 30_000, headersTimeout);
  const server = https.createServer(
    {
      ...secureContextOptions(source, SERVER_SECURE_OPTIONS),
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
      requestTimeout,
      headersTimeout,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
      connectionsCheckingInterval: timeoutCheckIntervalMs(headersTimeout, requestTimeout),
      maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024,
    },
    handler,
  );
  capConnections(server, opts.maxConnections ?? 1024);
  const perPeer = createPeerConnectionLimit(opts.maxConnectionsPerPeer ?? 0);

  // Runs before the HTTP layer's own listener, so no request is parsed on a rejected socket.
  server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
    try {
      const peer = verifyTlsPeer(socket, source.getX509Bundles(), authorize, 'client', now());
      rememberPeer(socket, peer);
      if (!perPeer.admit(socket, peer.id.toString())) {
        log?.warn('mTLS client has too many connections open; connection closed', {
          spiffeId: peer.id.toString(),
          remoteAddress: socket.remoteAddress,
        });
        socket.destroy();
      }
    } catch (err) {
      log?.warn('mTLS client rejected', {
        reason: err instanceof Error ? err.message : String(err),
        remoteAddress: socket.remoteAddress,
        resumed: socket.isSessionReused(),
      });
      socket.destroy();
    }
  });
  server.on('tlsClientError', (err, socket) => {
    // A chain OpenSSL could not verify (e.g. another CA of the trust domain) is dropped by Node
    // before 'secureConnection'; no TLS alert can be sent, so the log is where the reason shows.
    const unverified = socket.authorizationError;
    if (unverified !== undefined && unverified !== null) {
      log?.warn('mTLS client rejected', { reason: `client certificate not verified: ${String(unverified)}` });
      return;
    }
    log?.debug('TLS handshake failed', { reason: err.message, remoteAddress: socket.remoteAddress });
  });

  const unsubscribe = source.onUpdate(() => {
    try {
      server.setSecureContext(secureContextOptions(source, SERVER_SECURE_OPTIONS));
      log?.debug('mTLS server credentials rotated', { spiffeId: source.getX509Svid().spiffeId });
    } catch (err) {
      log?.warn('mTLS server could not apply rotated credentials', {
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  });
  server.on('close', unsubscribe);
  return server;
}
