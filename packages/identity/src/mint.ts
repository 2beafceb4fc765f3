/**
 * Minting of SPIFFE CA certificates and X.509-SVIDs with the profile SPIRE uses (ECDSA P-256,
 * SHA-256), and turning minted material into an SVID and bundles. Used by the development issuer
 * and by tests, which also use the knobs on {@link issueSvid} to build deliberately invalid
 * leaves. Exported as `@spike-ts/identity/mint` only, never from the package's main entry, so the
 * SDK, the CLI and the servers do not load CA-minting code (test/architecture checks this).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { derToPem } from './der.ts';
import { parseSpiffeId, parseTrustDomain, trustDomainId } from './spiffe-id.ts';
import type { X509Bundles, X509Svid } from './types.ts';

x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const BACKDATE_MS = 10_000;
export const DEFAULT_SVID_TTL_MS = 60 * 60 * 1000;
export const DEFAULT_CA_TTL_MS = 24 * 60 * 60 * 1000;

export interface MintedCa {
  readonly certDer: Uint8Array;
  readonly certPem: string;
  readonly keyPkcs8Der: Uint8Array;
  readonly keyPem: string;
  readonly trustDomain: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialHex: string;
  /** The CA that signed this one; absent for a self-signed root. */
  readonly parent?: MintedCa;
  /** DER of the self-signed root at the top of this CA's hierarchy (the bundle entry). */
  readonly rootDer: Uint8Array;
  /** Certificates to send after a leaf issued by this CA: this CA and its ancestors below the root. */
  readonly intermediatesDer: readonly Uint8Array[];
  /** Signing handle (non-extractable use is fine; the PKCS#8 copy above is for persistence). */
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export interface MintedSvid {
  readonly spiffeId: string;
  readonly certDer: Uint8Array;
  readonly certPem: string;
  readonly keyPkcs8Der: Uint8Array;
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serialHex: string;
  /** Intermediates of the issuing CA (nearest first), to send along with the leaf. */
  readonly intermediatesDer: readonly Uint8Array[];
}

export type KeyUsageName =
  'digitalSignature' | 'keyEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';

export interface CreateCaOptions {
  trustDomain: string;
  ttlMs?: number;
  now?: Date;
  /** Issue an intermediate signed by this parent instead of a self-signed root. */
  parent?: MintedCa;
}

export interface IssueSvidOptions {
  spiffeId: string;
  ttlMs?: number;
  now?: Date;
  /** Test knob: set basicConstraints cA=true on the leaf. */
  isCa?: boolean;
  /** Test knob: replace the key usage bits (default digitalSignature|keyEncipherment|keyAgreement). */
  keyUsages?: KeyUsageName[];
  /** Test knob: additional URI SANs after the SPIFFE ID. */
  extraUriSans?: string[];
  /** Test knob: replaces the URI SAN list entirely (may be empty; the ID is not validated then). */
  uriSans?: string[];
  /** Test knob: leave out the extended key usage extension. */
  omitEku?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  /** DNS SANs; the first also becomes the subject CN, as SPIRE does. */
  dnsNames?: string[];
}

const KU_FLAGS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
};

/** Random positive 16-byte serial with a minimal DER encoding (first byte 0x01..0x7f). */
function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
}

/** The CA's subject exactly as encoded in its certificate (issuer names must match byte for byte). */
function subjectOf(ca: MintedCa): x509.Name {
  return new x509.X509Certificate(ca.certDer).subjectName;
}

async function exportPkcs8(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key));
}

/** Creates a self-signed root CA, or an intermediate when `parent` is given. */
export async function createCa(opts: CreateCaOptions): Promise<MintedCa> {
  const trustDomain = parseTrustDomain(opts.trustDomain);
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_CA_TTL_MS));
  const keys = await generateKeyPair();
  const serialHex = randomSerialHex();
  // SPIRE puts the serial number into the CA subject too, which keeps CA names distinct.
  const subject = new x509.Name([
    { C: ['US'] },
    { O: ['SPIFFE'] },
    { '2.5.4.5': [BigInt('0x' + serialHex).toString()] },
  ]);
  const parent = opts.parent;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainId(trustDomain) }]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(parent ? parent.publicKey : keys.publicKey),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject,
    issuer: parent ? subjectOf(parent) : subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: parent ? parent.privateKey : keys.privateKey,
    signingAlgorithm: SIGNING_ALG,
    extensions,
  });
  const certDer = new Uint8Array(cert.rawData);
  const keyPkcs8Der = await exportPkcs8(keys.privateKey);
  return {
    certDer,
    certPem: derToPem(certDer),
    keyPkcs8Der,
    keyPem: derToPem(keyPkcs8Der, 'PRIVATE KEY'),
    trustDomain,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serialHex,
    ...(parent ? { parent } : {}),
    rootDer: parent ? parent.rootDer : certDer,
    intermediatesDer: parent ? [certDer, ...parent.intermediatesDer] : [],
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
  };
}

/** Issues a leaf X.509-SVID signed by `ca` (SPIRE workload profile unless a knob says otherwise). */
export async function issueSvid(ca: MintedCa, opts: IssueSvidOptions): Promise<MintedSvid> {
  if (opts.uriSans === undefined) parseSpiffeId(opts.spiffeId);
  const now = opts.now ?? new Date();
  const notBefore = opts.notBefore ?? new Date(now.getTime() - BACKDATE_MS);
  const notAfter = opts.notAfter ?? new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_SVID_TTL_MS));
  const keys = await generateKeyPair();
  const serialHex = randomSerialHex();
  const dnsNames = opts.dnsNames ?? [];
  const subjectParts: Record<string, string[]>[] = [{ C: ['US'] }, { O: ['SPIRE'] }];
  if (dnsNames[0] !== undefined) subjectParts.push({ CN: [dnsNames[0]] });

  const uris = opts.uriSans ?? [opts.spiffeId, ...(opts.extraUriSans ?? [])];
  const sans: x509.JsonGeneralName[] = [
    ...uris.map((value) => ({ type: 'url' as const, value })),
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
  ];
  let ku = 0;
  for (const u of opts.keyUsages ?? ['digitalSignature', 'keyEncipherment', 'keyAgreement'])
    ku |= KU_FLAGS[u];

  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(opts.isCa === true, undefined, true),
  ];
  if (ku !== 0) extensions.push(new x509.KeyUsagesExtension(ku, true));
  if (opts.omitEku !== true) {
    extensions.push(
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
    );
  }
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject: new x509.Name(subjectParts),
    issuer: subjectOf(ca),
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGNING_ALG,
    extensions,
  });
  const certDer = new Uint8Array(cert.rawData);
  const keyPkcs8Der = await exportPkcs8(keys.privateKey);
  return {
    spiffeId: opts.spiffeId,
    certDer,
    certPem: derToPem(certDer),
    keyPkcs8Der,
    keyPem: derToPem(keyPkcs8Der, 'PRIVATE KEY'),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serialHex,
    intermediatesDer: ca.intermediatesDer,
  };
}

/**
 * Rebuilds a {@link MintedCa} from stored material (certificate DER and unencrypted PKCS#8 DER
 * of its P-256 key), e.g. a CA persisted by the development issuer. Checks that the key
 * belongs to the certificate and that the certificate is a CA.
 */
export async function importCa(input: {
  certDer: Uint8Array;
  keyPkcs8Der: Uint8Array;
  parent?: MintedCa;
}): Promise<MintedCa> {
  const cert = new x509.X509Certificate(input.certDer);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc?.ca !== true) throw new Error('certificate is not a CA (basicConstraints cA is not set)');
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uri = san?.names.items.find((n) => n.type === 'url');
  if (uri === undefined) throw new Error('CA certificate has no URI SAN naming its trust domain');
  const trustDomain = parseTrustDomain(uri.value);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', input.keyPkcs8Der, EC_ALG, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, EC_ALG, true, [
    'verify',
  ]);
  const probe = new Uint8Array(32);
  const sig = await webcrypto.subtle.sign(SIGNING_ALG, privateKey, probe);
  if (!(await webcrypto.subtle.verify(SIGNING_ALG, publicKey, sig, probe))) {
    throw new Error('CA private key does not match the CA certificate');
  }
  const certDer = new Uint8Array(input.certDer);
  const keyPkcs8Der = new Uint8Array(input.keyPkcs8Der);
  const parent = input.parent;
  return {
    certDer,
    certPem: derToPem(certDer),
    keyPkcs8Der,
    keyPem: derToPem(keyPkcs8Der, 'PRIVATE KEY'),
    trustDomain,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serialHex: cert.serialNumber.toLowerCase(),
    ...(parent ? { parent } : {}),
    rootDer: parent ? parent.rootDer : certDer,
    intermediatesDer: parent ? [certDer, ...parent.intermediatesDer] : [],
    privateKey,
    publicKey,
  };
}

/**
 * Turns minted material into an {@link X509Svid}. The chain is the leaf followed by the
 * intermediates: those of `caChain` (issuing CAs, nearest first; self-signed roots are
 * skipped) when given, otherwise the ones recorded at issuance.
 */
export function svidFromMinted(m: MintedSvid, caChain?: readonly MintedCa[]): X509Svid {
  const intermediates = caChain
    ? caChain.filter((ca) => ca.parent !== undefined).map((ca) => ca.certDer)
    : m.intermediatesDer;
  const certChainDer = [m.certDer, ...intermediates];
  return {
    spiffeId: m.spiffeId,
    certChainDer,
    certChainPem: certChainDer.map((der) => derToPem(der)).join(''),
    privateKeyPem: m.keyPem,
    hint: '',
    notAfter: m.notAfter,
  };
}

/** Bundles map from CAs: each CA's root is trusted for the CA's trust domain. */
export function bundlesFromCas(cas: readonly MintedCa[]): X509Bundles {
  const map = new Map<string, Uint8Array[]>();
  for (const ca of cas) {
    const list = map.get(ca.trustDomain) ?? [];
    if (!list.some((d) => Buffer.compare(d, ca.rootDer) === 0)) list.push(ca.rootDer);
    map.set(ca.trustDomain, list);
  }
  return map;
}
