/**
 * The mTLS peer checks shared by the server (`mtls-server.ts`) and the client (`mtls-client.ts`).
 *
 * OpenSSL verifies signatures, validity and EKU, but not the SPIFFE leaf rules nor the binding
 * between the leaf's trust domain and the root that signed it. So every connection, resumed
 * or not, additionally passes {@link verifyPeerX509Svid} and the caller's authorizer before
 * a single request byte is handled; failures destroy the socket.
 */
import type http from 'node:http';
import type net from 'node:net';
import type tls from 'node:tls';
import { X509Certificate, createHash } from 'node:crypto';
import { derToPem } from './der.ts';
import { isSpikeCompatibleId } from './roles.ts';
import type { SpiffeId } from './spiffe-id.ts';
import { SvidValidationError, certificateSerialHex, verifyPeerX509Svid } from './svid.ts';
import type { X509Bundles, X509Source } from './types.ts';

/** The part of the `@spike-ts/core` logger this module uses. */
export interface MtlsLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export class PeerNotAuthorizedError extends Error {
  readonly peerId: string;
  constructor(peerId: SpiffeId | string, role: 'client' | 'server') {
    super(`${role} SPIFFE ID "${peerId.toString()}" is not authorized`);
    this.name = 'PeerNotAuthorizedError';
    this.peerId = peerId.toString();
  }
}

const MAX_PEER_CHAIN = 16;

/** PEM of every root of every trust domain in `bundles` (the TLS trust store). */
export function bundlesToCaPem(bundles: X509Bundles): string {
  let pem = '';
  for (const roots of bundles.values()) for (const der of roots) pem += derToPem(der);
  return pem;
}

/**
 * The peer chain of a connected TLS socket: the leaf from `getPeerX509Certificate()`, then
 * the issuer chain OpenSSL built (which may end with the trust anchor).
 */
export function peerChainDer(socket: tls.TLSSocket): Uint8Array[] {
  // Note: Node returns the peer X509Certificate only on the first call for a socket.
  const leaf = socket.getPeerX509Certificate();
  if (leaf === undefined) throw new SvidValidationError('peer presented no certificate');
  const chain: Uint8Array[] = [new Uint8Array(leaf.raw)];
  let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (chain.length < MAX_PEER_CHAIN) {
    const next: tls.DetailedPeerCertificate | undefined = cert?.issuerCertificate;
    if (next === undefined || next === cert || !Buffer.isBuffer(next.raw)) break;
    chain.push(new Uint8Array(next.raw));
    cert = next;
  }
  return chain;
}

export interface VerifiedPeer {
  readonly id: SpiffeId;
  /** Lowercase hex serial number of the peer's leaf certificate. */
  readonly serialHex: string;
}

/** A chain that passed {@link verifyPeerX509Svid}, and the time window in which it still does. */
interface VerifiedChain {
  readonly peer: VerifiedPeer;
  /** The trust domain's roots it was verified against (the very array). */
  readonly roots: readonly Uint8Array[];
  /** Latest notBefore and earliest notAfter of every presented certificate and every root (ms). */
  readonly validFrom: number;
  readonly validUntil: number;
}

/** Verified chains per bundles object, by a digest of the chain's DER. Bounded per bundles. */
const verifiedChains = new WeakMap<X509Bundles, Map<string, VerifiedChain>>();
const MAX_VERIFIED_CHAINS = 1024;

function chainKey(chain: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  // DER is self-delimiting, so the concatenation identifies the sequence of certificates.
  for (const der of chain) h.update(der);
  return h.digest('base64');
}

function validityWindow(certs: readonly Uint8Array[]): { validFrom: number; validUntil: number } {
  let validFrom = Number.NEGATIVE_INFINITY;
  let validUntil = Number.POSITIVE_INFINITY;
  for (const der of certs) {
    const cert = new X509Certificate(der);
    validFrom = Math.max(validFrom, cert.validFromDate.getTime());
    validUntil = Math.min(validUntil, cert.validToDate.getTime());
  }
  return { validFrom, validUntil };
}

/**
 * {@link verifyPeerX509Svid} with a memo: a chain (same DER bytes) that passed against the same
 * bundles object and the same roots passes again while `now` lies within the validity of every
 * presented certificate and every root of its trust domain; those are the only time-dependent
 * checks, so the verdict is the same. Anything else (a new chain, other bundles, a time outside
 * the window) takes the full check, which also produces the precise error.
 */
function verifyChain(chain: readonly Uint8Array[], bundles: X509Bundles, now: Date): VerifiedPeer {
  const key = chainKey(chain);
  let memo = verifiedChains.get(bundles);
  const hit = memo?.get(key);
  const t = now.getTime();
  if (hit !== undefined && bundles.get(hit.peer.id.trustDomain) === hit.roots) {
    if (t >= hit.validFrom && t <= hit.validUntil) return hit.peer;
  }
  const id = verifyPeerX509Svid(chain, bundles, now);
  const peer: VerifiedPeer = { id, serialHex: certificateSerialHex(chain[0]!) };
  const roots = bundles.get(id.trustDomain) ?? [];
  if (memo === undefined) {
    memo = new Map();
    verifiedChains.set(bundles, memo);
  }
  if (memo.size >= MAX_VERIFIED_CHAINS) {
    const oldest = memo.keys().next();
    if (oldest.done !== true) memo.delete(oldest.value);
  }
  memo.set(key, { peer, roots, ...validityWindow([...chain, ...roots]) });
  return peer;
}

/** Runs the SVID checks and the authorizer on a connected socket. Throws on failure. */
export function verifyTlsPeer(
  socket: tls.TLSSocket,
  bundles: X509Bundles,
  authorize: (id: SpiffeId) => boolean,
  role: 'client' | 'server',
  now: Date = new Date(),
): VerifiedPeer {
  const peer = verifyChain(peerChainDer(socket), bundles, now);
  if (!authorize(peer.id)) throw new PeerNotAuthorizedError(peer.id, role);
  return peer;
}

const verifiedPeers = new WeakMap<net.Socket, VerifiedPeer>();
/** The peer's ID as text when SPIKE accepts it, else null: decided once per connection. */
const callerIds = new WeakMap<net.Socket, string | null>();

/** Records a verified peer for a socket (used by the client and the server). */
export function rememberPeer(socket: net.Socket, peer: VerifiedPeer): void {
  verifiedPeers.set(socket, peer);
  const text = peer.id.toString();
  callerIds.set(socket, isSpikeCompatibleId(text) ? text : null);
}

/**
 * The caller of a request: the verified peer's SPIFFE ID as text, if SPIKE accepts it. Decided
 * once, when the handshake was verified, and carried on the connection as a value, so serving a
 * request neither parses nor re-checks the ID.
 */
export function getPeerCallerId(
  reqOrSocket: http.IncomingMessage | net.Socket | null | undefined,
): string | undefined {
  if (reqOrSocket === null || reqOrSocket === undefined) return undefined;
  const socket = 'socket' in reqOrSocket ? reqOrSocket.socket : reqOrSocket;
  return (socket ? callerIds.get(socket) : undefined) ?? undefined;
}

/** The verified peer of a request or socket handled by an mTLS server or client here. */
export function getVerifiedPeer(
  reqOrSocket: http.IncomingMessage | net.Socket | null | undefined,
): VerifiedPeer | undefined {
  if (reqOrSocket === null || reqOrSocket === undefined) return undefined;
  const socket = 'socket' in reqOrSocket ? reqOrSocket.socket : reqOrSocket;
  return socket ? verifiedPeers.get(socket) : undefined;
}

/** The verified SPIFFE ID of the peer of a request or socket, if it passed the checks. */
export function getPeerSpiffeId(
  reqOrSocket: http.IncomingMessage | net.Socket | null | undefined,
): SpiffeId | undefined {
  return getVerifiedPeer(reqOrSocket)?.id;
}

/** TLS 1.3 only, with the source's current SVID and every trusted root. */
export function secureContextOptions(source: X509Source, extraSecureOptions = 0): tls.SecureContextOptions {
  const svid = source.getX509Svid();
  return {
    key: svid.privateKeyPem,
    cert: svid.certChainPem,
    ca: bundlesToCaPem(source.getX509Bundles()),
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    secureOptions: extraSecureOptions,
  };
}
