/**
 * X.509-SVID validation: parsing our own SVID as delivered by the Workload API (what go-spiffe
 * `x509svid.ParseRaw` checks) and verifying a peer's SVID chain against the bundle of the
 * peer's own trust domain (what `x509svid.Verify` does, plus the spec's non-empty path rule).
 *
 * Node's TLS stack (OpenSSL) accepts CA-flagged leaves and any trusted root for any trust
 * domain, so every mTLS connection must also pass {@link verifyPeerX509Svid}.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeX509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { DerError, derToPem, splitDer } from './der.ts';
import { SpiffeIdError, parseSpiffeId } from './spiffe-id.ts';
import type { SpiffeId } from './spiffe-id.ts';
import type { X509Bundles, X509Svid } from './types.ts';

x509.cryptoProvider.set(webcrypto);

export class SvidValidationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SvidValidationError';
  }
}

const OID_KEY_USAGE = '2.5.29.15';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const UNDERSTOOD_EXTENSIONS = new Set([
  OID_KEY_USAGE,
  OID_BASIC_CONSTRAINTS,
  OID_SUBJECT_ALT_NAME,
  OID_EXT_KEY_USAGE,
  OID_SUBJECT_KEY_ID,
  OID_AUTHORITY_KEY_ID,
]);
const MAX_CHAIN_CERTS = 16;

interface ParsedCert {
  readonly der: Uint8Array;
  readonly node: NodeX509Certificate;
  readonly isCa: boolean;
  readonly pathLength: number | undefined;
  /** Key usage bits, or undefined when the extension is absent. */
  readonly keyUsage: number | undefined;
  readonly uriSans: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function parseCert(der: Uint8Array, what: string): ParsedCert {
  let px: x509.X509Certificate;
  let node: NodeX509Certificate;
  try {
    px = new x509.X509Certificate(der);
    node = new NodeX509Certificate(der);
  } catch (err) {
    throw new SvidValidationError(`${what}: not a valid X.509 certificate`, { cause: err });
  }
  const seen = new Set<string>();
  for (const ext of px.extensions) {
    if (seen.has(ext.type)) throw new SvidValidationError(`${what}: duplicate extension ${ext.type}`);
    seen.add(ext.type);
    if (ext.critical && !UNDERSTOOD_EXTENSIONS.has(ext.type)) {
      throw new SvidValidationError(`${what}: unsupported critical extension ${ext.type}`);
    }
  }
  let isCa = false;
  let pathLength: number | undefined;
  let keyUsage: number | undefined;
  const uriSans: string[] = [];
  try {
    const bc = px.getExtension(x509.BasicConstraintsExtension);
    if (bc) {
      isCa = bc.ca;
      pathLength = bc.pathLength;
    }
    const ku = px.getExtension(x509.KeyUsagesExtension);
    if (ku) keyUsage = ku.usages;
    const san = px.getExtension(x509.SubjectAlternativeNameExtension);
    if (san) {
      for (const name of san.names.items) if (name.type === 'url') uriSans.push(name.value);
    }
  } catch (err) {
    throw new SvidValidationError(`${what}: malformed certificate extension`, { cause: err });
  }
  return { der, node, isCa, pathLength, keyUsage, uriSans, notBefore: px.notBefore, notAfter: px.notAfter };
}

function hasKu(c: ParsedCert, flag: x509.KeyUsageFlags): boolean {
  return c.keyUsage !== undefined && (c.keyUsage & flag) !== 0;
}

/** Leaf rules shared by own and peer SVIDs. Returns the leaf's SPIFFE ID. */
function checkLeaf(leaf: ParsedCert): SpiffeId {
  if (leaf.uriSans.length !== 1) {
    throw new SvidValidationError(`certificate must have exactly one URI SAN, found ${leaf.uriSans.length}`);
  }
  let id: SpiffeId;
  try {
    id = parseSpiffeId(leaf.uriSans[0]!);
  } catch (err) {
    const why = err instanceof SpiffeIdError ? err.message : 'invalid';
    throw new SvidValidationError(`certificate URI SAN is not a valid SPIFFE ID: ${why}`, { cause: err });
  }
  if (id.path === '') throw new SvidValidationError('leaf certificate SPIFFE ID must have a non-root path');
  if (leaf.isCa) throw new SvidValidationError('leaf certificate must not have CA flag set to true');
  if (hasKu(leaf, x509.KeyUsageFlags.keyCertSign)) {
    throw new SvidValidationError("leaf certificate must not have 'keyCertSign' set as key usage");
  }
  if (hasKu(leaf, x509.KeyUsageFlags.cRLSign)) {
    throw new SvidValidationError("leaf certificate must not have 'cRLSign' set as key usage");
  }
  if (!hasKu(leaf, x509.KeyUsageFlags.digitalSignature)) {
    throw new SvidValidationError("leaf certificate must have 'digitalSignature' set as key usage");
  }
  return id;
}

function checkSigningCert(c: ParsedCert, what: string): void {
  if (!c.isCa) throw new SvidValidationError(`${what} must have CA flag set to true`);
  if (!hasKu(c, x509.KeyUsageFlags.keyCertSign)) {
    throw new SvidValidationError(`${what} must have 'keyCertSign' set as key usage`);
  }
}

function checkValidity(c: ParsedCert, what: string, now: Date): void {
  const t = now.getTime();
  if (t < c.notBefore.getTime()) {
    throw new SvidValidationError(`${what} is not yet valid (notBefore ${c.notBefore.toISOString()})`);
  }
  if (t > c.notAfter.getTime()) {
    throw new SvidValidationError(`${what} has expired (notAfter ${c.notAfter.toISOString()})`);
  }
}

function issued(parent: ParsedCert, child: ParsedCert): boolean {
  try {
    // Name match plus signature. CA flag and key usage of the parent are checked separately so
    // the error says what is wrong with it.
    return child.node.issuer === parent.node.subject && child.node.verify(parent.node.publicKey);
  } catch {
    return false;
  }
}

const rootCache = new WeakMap<readonly Uint8Array[], readonly ParsedCert[]>();

function parsedRoots(roots: readonly Uint8Array[], trustDomain: string): readonly ParsedCert[] {
  let parsed = rootCache.get(roots);
  if (parsed === undefined) {
    parsed = roots.map((der, i) =>
      parseCert(der, `bundle certificate ${i} of trust domain "${trustDomain}"`),
    );
    rootCache.set(roots, parsed);
  }
  return parsed;
}

/**
 * Builds a path leaf → presented intermediates → a root of `roots`, checking signatures,
 * validity, CA flag, keyCertSign and path length of every signing certificate.
 */
function verifyPath(
  leaf: ParsedCert,
  intermediates: readonly ParsedCert[],
  roots: readonly ParsedCert[],
  now: Date,
): void {
  checkValidity(leaf, 'leaf certificate', now);
  const used = new Set<number>();
  let current = leaf;
  for (let below = 0; below <= intermediates.length; below++) {
    const root = roots.find((r) => issued(r, current));
    if (root !== undefined) {
      checkSigningCert(root, 'root certificate');
      checkValidity(root, 'root certificate', now);
      if (root.pathLength !== undefined && below > root.pathLength) {
        throw new SvidValidationError('root certificate path length constraint exceeded');
      }
      return;
    }
    const index = intermediates.findIndex((c, i) => !used.has(i) && issued(c, current));
    if (index < 0) break;
    const next = intermediates[index]!;
    used.add(index);
    checkSigningCert(next, 'intermediate certificate');
    checkValidity(next, 'intermediate certificate', now);
    if (next.pathLength !== undefined && below > next.pathLength) {
      throw new SvidValidationError('intermediate certificate path length constraint exceeded');
    }
    current = next;
  }
  throw new SvidValidationError(
    "certificate chain does not lead to a root in the bundle of the SVID's trust domain (unknown signer or missing intermediate)",
  );
}

/**
 * Verifies a peer X.509-SVID chain (leaf first, then intermediates as presented; extra
 * certificates such as the trust anchor are tolerated) against the bundle of the leaf ID's
 * own trust domain. Returns the peer's SPIFFE ID; throws {@link SvidValidationError}.
 */
export function verifyPeerX509Svid(
  chainDer: readonly Uint8Array[],
  bundles: X509Bundles,
  now: Date = new Date(),
): SpiffeId {
  if (chainDer.length === 0) throw new SvidValidationError('peer presented no certificate');
  if (chainDer.length > MAX_CHAIN_CERTS) throw new SvidValidationError('peer certificate chain is too long');
  const leaf = parseCert(chainDer[0]!, 'leaf certificate');
  const id = checkLeaf(leaf);
  const roots = bundles.get(id.trustDomain);
  if (roots === undefined || roots.length === 0) {
    throw new SvidValidationError(`no trust bundle for trust domain "${id.trustDomain}"`);
  }
  const intermediates = chainDer.slice(1).map((der, i) => parseCert(der, `chain certificate ${i + 1}`));
  verifyPath(leaf, intermediates, parsedRoots(roots, id.trustDomain), now);
  return id;
}

export interface RawX509Svid {
  spiffeId: string;
  /** Concatenated DER chain, leaf first. */
  x509Svid: Uint8Array;
  /** Unencrypted PKCS#8 DER private key. */
  x509SvidKey: Uint8Array;
  /** Concatenated DER roots of the SVID's own trust domain. */
  bundle: Uint8Array;
  hint?: string;
}

function split(what: string, der: Uint8Array): Uint8Array[] {
  try {
    return splitDer(der);
  } catch (err) {
    const why = err instanceof DerError ? err.message : 'malformed';
    throw new SvidValidationError(`${what} is not concatenated DER: ${why}`, { cause: err });
  }
}

/**
 * Parses and checks our own SVID as received from the Workload API: leaf rules, every
 * non-leaf certificate a CA with keyCertSign, key matches the leaf, `spiffe_id` equals the
 * leaf URI SAN, leaf not expired at `now`. Returns TLS-ready PEMs plus the split bundle.
 */
export function parseOwnX509Svid(
  input: RawX509Svid,
  now: Date = new Date(),
): { svid: X509Svid; bundleDer: Uint8Array[] } {
  const chain = split('x509_svid', input.x509Svid);
  if (chain.length === 0) throw new SvidValidationError('x509_svid contains no certificates');
  if (chain.length > MAX_CHAIN_CERTS) throw new SvidValidationError('x509_svid chain is too long');
  const leaf = parseCert(chain[0]!, 'leaf certificate');
  const id = checkLeaf(leaf);
  chain
    .slice(1)
    .forEach((der, i) =>
      checkSigningCert(parseCert(der, `chain certificate ${i + 1}`), `chain certificate ${i + 1}`),
    );
  if (input.spiffeId !== id.toString()) {
    throw new SvidValidationError(
      `spiffe_id "${input.spiffeId}" does not match the leaf certificate URI SAN "${id.toString()}"`,
    );
  }
  if (now.getTime() > leaf.notAfter.getTime()) {
    throw new SvidValidationError(`X.509-SVID has expired (notAfter ${leaf.notAfter.toISOString()})`);
  }
  let key: KeyObject;
  const keyDer = Buffer.from(input.x509SvidKey);
  try {
    key = createPrivateKey({ key: keyDer, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new SvidValidationError('x509_svid_key is not an unencrypted PKCS#8 private key', { cause: err });
  } finally {
    keyDer.fill(0);
  }
  if (!leaf.node.checkPrivateKey(key)) {
    throw new SvidValidationError('x509_svid_key does not match the leaf certificate public key');
  }
  const bundleDer = split('bundle', input.bundle);
  if (bundleDer.length === 0)
    throw new SvidValidationError(`bundle for trust domain "${id.trustDomain}" is empty`);
  bundleDer.forEach((der, i) => parseCert(der, `bundle certificate ${i}`));
  const svid: X509Svid = {
    spiffeId: id.toString(),
    certChainDer: chain,
    certChainPem: chain.map((der) => derToPem(der)).join(''),
    privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    hint: input.hint ?? '',
    notAfter: leaf.notAfter,
  };
  return { svid, bundleDer };
}

/** Lowercase hex serial number of a DER certificate (for logs and tests). */
export function certificateSerialHex(der: Uint8Array): string {
  return new NodeX509Certificate(der).serialNumber.toLowerCase();
}
