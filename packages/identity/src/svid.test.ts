import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { concatDer } from './der.ts';
import { createCa, importCa, issueSvid } from './mint.ts';
import type { MintedCa, MintedSvid } from './mint.ts';
import { SvidValidationError, certificateSerialHex, parseOwnX509Svid, verifyPeerX509Svid } from './svid.ts';
import type { X509Bundles } from './types.ts';

const TD = 'spike.ist';
const ID = 'spiffe://spike.ist/spike/nexus';

function rejectsPeer(chain: readonly Uint8Array[], bundles: X509Bundles, pattern: RegExp, now?: Date): void {
  assert.throws(
    () => verifyPeerX509Svid(chain, bundles, now),
    (err: unknown) => err instanceof SvidValidationError && pattern.test(err.message),
  );
}

/** Treats a (possibly invalid) leaf as a signing CA, to build chains with bad intermediates. */
async function leafAsSigner(ca: MintedCa, leaf: MintedSvid): Promise<MintedCa> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const privateKey = await webcrypto.subtle.importKey('pkcs8', leaf.keyPkcs8Der, alg, true, ['sign']);
  const spki = new x509.X509Certificate(leaf.certDer).publicKey.rawData;
  const publicKey = await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
  return {
    ...ca,
    certDer: leaf.certDer,
    certPem: leaf.certPem,
    keyPkcs8Der: leaf.keyPkcs8Der,
    keyPem: leaf.keyPem,
    parent: ca,
    intermediatesDer: [leaf.certDer, ...ca.intermediatesDer],
    privateKey,
    publicKey,
  };
}

describe('mint', () => {
  it('issues leaves with the SPIRE workload profile', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const ca = await createCa({ trustDomain: TD, now, ttlMs: 48 * 3600_000 });
    const svid = await issueSvid(ca, { spiffeId: ID, now, dnsNames: ['nexus.spike.ist'] });
    assert.equal(svid.notBefore.getTime(), now.getTime() - 10_000);
    assert.equal(svid.notAfter.getTime(), now.getTime() + 3600_000);
    assert.equal(svid.serialHex.length, 32);
    assert.equal(certificateSerialHex(svid.certDer), svid.serialHex);

    const cert = new x509.X509Certificate(svid.certDer);
    assert.equal(cert.subject, 'C=US, O=SPIRE, CN=nexus.spike.ist');
    const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, false);
    assert.equal(bc.critical, true);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.critical, true);
    assert.equal(
      ku.usages,
      x509.KeyUsageFlags.digitalSignature |
        x509.KeyUsageFlags.keyEncipherment |
        x509.KeyUsageFlags.keyAgreement,
    );
    assert.deepEqual(
      [...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages],
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    );
    const sans = cert
      .getExtension(x509.SubjectAlternativeNameExtension)!
      .names.items.map((n) => [n.type, n.value]);
    assert.deepEqual(sans, [
      ['url', ID],
      ['dns', 'nexus.spike.ist'],
    ]);
    const caCert = new x509.X509Certificate(ca.certDer);
    assert.equal(
      cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId,
      caCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
    );
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));

    // The key belongs to the certificate.
    const key = createPrivateKey({ key: Buffer.from(svid.keyPkcs8Der), format: 'der', type: 'pkcs8' });
    assert.ok(new X509Certificate(svid.certDer).checkPrivateKey(key));
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('issues CAs with the SPIRE CA profile, and intermediates', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const root = await createCa({ trustDomain: TD, now });
    assert.equal(root.notAfter.getTime(), now.getTime() + 24 * 3600_000);
    const cert = new x509.X509Certificate(root.certDer);
    assert.ok(cert.subject.startsWith('C=US, O=SPIFFE'));
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)!.ca, true);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)!.critical, true);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(ku.critical, true);
    assert.deepEqual(
      cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => n.value),
      ['spiffe://spike.ist'],
    );
    assert.ok(await cert.isSelfSigned());
    assert.deepEqual(root.intermediatesDer, []);
    assert.deepEqual(root.rootDer, root.certDer);

    const inter = await createCa({ trustDomain: TD, parent: root, now });
    const interCert = new X509Certificate(inter.certDer);
    assert.ok(interCert.checkIssued(new X509Certificate(root.certDer)));
    assert.ok(interCert.verify(new X509Certificate(root.certDer).publicKey));
    assert.deepEqual(inter.intermediatesDer, [inter.certDer]);
    assert.deepEqual(inter.rootDer, root.certDer);
    // Distinct CAs get distinct subjects, so issuer lookup by name is never ambiguous.
    assert.notEqual(new X509Certificate(root.certDer).subject, interCert.subject);
  });

  it('importCa rebuilds a usable CA and rejects a foreign key', async () => {
    const root = await createCa({ trustDomain: TD });
    const copy = await importCa({ certDer: root.certDer, keyPkcs8Der: root.keyPkcs8Der });
    assert.equal(copy.trustDomain, TD);
    assert.equal(copy.serialHex, root.serialHex);
    const leaf = await issueSvid(copy, { spiffeId: ID });
    assert.equal(verifyPeerX509Svid([leaf.certDer], new Map([[TD, [root.certDer]]])).toString(), ID);
    const other = await createCa({ trustDomain: TD });
    await assert.rejects(
      importCa({ certDer: root.certDer, keyPkcs8Der: other.keyPkcs8Der }),
      /does not match/,
    );
    await assert.rejects(importCa({ certDer: leaf.certDer, keyPkcs8Der: leaf.keyPkcs8Der }), /not a CA/);
  });

  it('rejects an invalid SPIFFE ID unless the SAN list is overridden', async () => {
    const root = await createCa({ trustDomain: TD });
    await assert.rejects(issueSvid(root, { spiffeId: 'spiffe://Spike.ist/x' }));
    const raw = await issueSvid(root, { spiffeId: 'x', uriSans: ['https://example.com/'] });
    assert.equal(raw.spiffeId, 'x');
  });
});

describe('verifyPeerX509Svid', () => {
  let root: MintedCa;
  let inter: MintedCa;
  let foreign: MintedCa;
  let bundles: X509Bundles;

  before(async () => {
    root = await createCa({ trustDomain: TD });
    inter = await createCa({ trustDomain: TD, parent: root });
    foreign = await createCa({ trustDomain: 'other.test' });
    bundles = new Map([
      [TD, [root.certDer]],
      ['other.test', [foreign.certDer]],
    ]);
  });

  it('accepts a leaf signed by the root and a leaf signed through an intermediate', async () => {
    const direct = await issueSvid(root, { spiffeId: ID });
    assert.equal(verifyPeerX509Svid([direct.certDer], bundles).toString(), ID);
    const viaInter = await issueSvid(inter, { spiffeId: 'spiffe://spike.ist/spike/keeper/1' });
    const id = verifyPeerX509Svid([viaInter.certDer, inter.certDer], bundles);
    assert.equal(id.trustDomain, TD);
    assert.equal(id.path, '/spike/keeper/1');
    // The chain as OpenSSL reports it (including the anchor) is accepted too.
    assert.equal(
      verifyPeerX509Svid([viaInter.certDer, inter.certDer, root.certDer], bundles).toString(),
      viaInter.spiffeId,
    );
    const other = await issueSvid(foreign, { spiffeId: 'spiffe://other.test/w' });
    assert.equal(verifyPeerX509Svid([other.certDer], bundles).toString(), 'spiffe://other.test/w');
  });

  it('rejects leaves without exactly one valid URI SAN', async () => {
    const none = await issueSvid(root, { spiffeId: ID, uriSans: [], dnsNames: ['a.example'] });
    rejectsPeer([none.certDer], bundles, /exactly one URI SAN, found 0/);
    const two = await issueSvid(root, { spiffeId: ID, extraUriSans: ['spiffe://spike.ist/spike/keeper'] });
    rejectsPeer([two.certDer], bundles, /exactly one URI SAN, found 2/);
    const notSpiffe = await issueSvid(root, { spiffeId: ID, uriSans: ['https://spike.ist/spike/nexus'] });
    rejectsPeer([notSpiffe.certDer], bundles, /not a valid SPIFFE ID: scheme is missing or invalid/);
    const comma = await issueSvid(root, {
      spiffeId: ID,
      uriSans: ['spiffe://spike.ist/a,URI:spiffe://spike.ist/spike/nexus'],
    });
    rejectsPeer([comma.certDer], bundles, /not a valid SPIFFE ID/);
    const pathless = await issueSvid(root, { spiffeId: ID, uriSans: ['spiffe://spike.ist'] });
    rejectsPeer([pathless.certDer], bundles, /non-root path/);
  });

  it('rejects CA-like leaves and leaves without digitalSignature', async () => {
    const caLeaf = await issueSvid(root, { spiffeId: ID, isCa: true });
    rejectsPeer([caLeaf.certDer], bundles, /must not have CA flag/);
    const certSign = await issueSvid(root, { spiffeId: ID, keyUsages: ['digitalSignature', 'keyCertSign'] });
    rejectsPeer([certSign.certDer], bundles, /'keyCertSign'/);
    const crlSign = await issueSvid(root, { spiffeId: ID, keyUsages: ['digitalSignature', 'cRLSign'] });
    rejectsPeer([crlSign.certDer], bundles, /'cRLSign'/);
    const noDs = await issueSvid(root, { spiffeId: ID, keyUsages: ['keyEncipherment', 'keyAgreement'] });
    rejectsPeer([noDs.certDer], bundles, /must have 'digitalSignature'/);
    const noKu = await issueSvid(root, { spiffeId: ID, keyUsages: [] });
    rejectsPeer([noKu.certDer], bundles, /must have 'digitalSignature'/);
  });

  it("binds the leaf's trust domain to that trust domain's bundle", async () => {
    // Signed by other.test's root (trusted for other.test) while claiming spike.ist.
    const forged = await issueSvid(foreign, { spiffeId: ID });
    rejectsPeer([forged.certDer], bundles, /does not lead to a root/);
    rejectsPeer([forged.certDer, foreign.certDer], bundles, /does not lead to a root/);
    const unknownTd = await issueSvid(root, { spiffeId: 'spiffe://third.test/x' });
    rejectsPeer([unknownTd.certDer], bundles, /no trust bundle for trust domain "third.test"/);
    rejectsPeer([unknownTd.certDer], new Map([['third.test', []]]), /no trust bundle/);
  });

  it('rejects expired and not-yet-valid certificates anywhere in the chain', async () => {
    const t = Date.now();
    const expired = await issueSvid(root, {
      spiffeId: ID,
      notBefore: new Date(t - 7200_000),
      notAfter: new Date(t - 3600_000),
    });
    rejectsPeer([expired.certDer], bundles, /leaf certificate has expired/);
    const future = await issueSvid(root, {
      spiffeId: ID,
      notBefore: new Date(t + 3600_000),
      notAfter: new Date(t + 7200_000),
    });
    rejectsPeer([future.certDer], bundles, /leaf certificate is not yet valid/);
    // A valid leaf checked at a time after its CA expired.
    const shortRoot = await createCa({ trustDomain: TD, ttlMs: 60_000 });
    const leaf = await issueSvid(shortRoot, { spiffeId: ID, ttlMs: 3600_000 });
    const b = new Map([[TD, [shortRoot.certDer]]]);
    assert.equal(verifyPeerX509Svid([leaf.certDer], b).toString(), ID);
    rejectsPeer([leaf.certDer], b, /root certificate has expired/, new Date(t + 120_000));
    const shortInter = await createCa({ trustDomain: TD, parent: root, ttlMs: 60_000 });
    const leaf2 = await issueSvid(shortInter, { spiffeId: ID, ttlMs: 3600_000 });
    rejectsPeer(
      [leaf2.certDer, shortInter.certDer],
      bundles,
      /intermediate certificate has expired/,
      new Date(t + 120_000),
    );
  });

  it('rejects a missing intermediate, a tampered signature and an empty chain', async () => {
    const viaInter = await issueSvid(inter, { spiffeId: ID });
    rejectsPeer([viaInter.certDer], bundles, /does not lead to a root/);
    const tampered = new Uint8Array(viaInter.certDer);
    tampered[tampered.length - 5]! ^= 0x01; // inside the signature value
    rejectsPeer([tampered, inter.certDer], bundles, /does not lead to a root|not a valid X.509/);
    rejectsPeer([], bundles, /no certificate/);
    rejectsPeer([Uint8Array.of(0x30, 0x00)], bundles, /not a valid X.509 certificate/);
  });

  it('requires every signing certificate to be a CA with keyCertSign', async () => {
    const notCa = await issueSvid(root, { spiffeId: 'spiffe://spike.ist/fake-ca' });
    const signer = await leafAsSigner(root, notCa);
    const leaf = await issueSvid(signer, { spiffeId: ID });
    rejectsPeer([leaf.certDer, notCa.certDer], bundles, /intermediate certificate must have CA flag/);

    const caNoSign = await issueSvid(root, {
      spiffeId: 'spiffe://spike.ist/ca',
      isCa: true,
      keyUsages: ['digitalSignature'],
    });
    const signer2 = await leafAsSigner(root, caNoSign);
    const leaf2 = await issueSvid(signer2, { spiffeId: ID });
    rejectsPeer(
      [leaf2.certDer, caNoSign.certDer],
      bundles,
      /intermediate certificate must have 'keyCertSign'/,
    );
  });
});

describe('parseOwnX509Svid', () => {
  let root: MintedCa;
  let inter: MintedCa;
  let svid: MintedSvid;

  before(async () => {
    root = await createCa({ trustDomain: TD });
    inter = await createCa({ trustDomain: TD, parent: root });
    svid = await issueSvid(inter, { spiffeId: ID });
  });

  function raw(
    over: Partial<Parameters<typeof parseOwnX509Svid>[0]> = {},
  ): Parameters<typeof parseOwnX509Svid>[0] {
    return {
      spiffeId: ID,
      x509Svid: concatDer([svid.certDer, inter.certDer]),
      x509SvidKey: svid.keyPkcs8Der,
      bundle: concatDer([root.certDer]),
      ...over,
    };
  }

  it('parses a valid SVID into TLS-ready material', () => {
    const { svid: parsed, bundleDer } = parseOwnX509Svid(raw({ hint: 'internal' }));
    assert.equal(parsed.spiffeId, ID);
    assert.equal(parsed.hint, 'internal');
    assert.equal(parsed.certChainDer.length, 2);
    assert.deepEqual(parsed.certChainDer[0], svid.certDer);
    assert.deepEqual(bundleDer, [root.certDer]);
    assert.equal(parsed.notAfter.getTime(), svid.notAfter.getTime());
    assert.equal(parsed.certChainPem, svid.certPem + inter.certPem);
    assert.ok(parsed.privateKeyPem.startsWith('-----BEGIN PRIVATE KEY-----'));
    assert.equal(parseOwnX509Svid(raw()).svid.hint, '');
    // The chain verifies against the bundle.
    assert.equal(verifyPeerX509Svid(parsed.certChainDer, new Map([[TD, bundleDer]])).toString(), ID);
  });

  it('rejects a spiffe_id that differs from the leaf URI SAN', () => {
    assert.throws(
      () => parseOwnX509Svid(raw({ spiffeId: 'spiffe://spike.ist/spike/keeper' })),
      /does not match the leaf/,
    );
  });

  it('rejects a key that does not belong to the leaf', async () => {
    const other = await issueSvid(inter, { spiffeId: ID });
    assert.throws(
      () => parseOwnX509Svid(raw({ x509SvidKey: other.keyPkcs8Der })),
      /does not match the leaf certificate public key/,
    );
    assert.throws(
      () => parseOwnX509Svid(raw({ x509SvidKey: Uint8Array.of(1, 2, 3) })),
      /not an unencrypted PKCS#8/,
    );
  });

  it('rejects non-CA certificates after the leaf', async () => {
    const second = await issueSvid(inter, { spiffeId: 'spiffe://spike.ist/other' });
    assert.throws(
      () => parseOwnX509Svid(raw({ x509Svid: concatDer([svid.certDer, second.certDer]) })),
      /chain certificate 1 must have CA flag/,
    );
  });

  it('applies the leaf rules', async () => {
    const caLeaf = await issueSvid(inter, { spiffeId: ID, isCa: true });
    assert.throws(
      () => parseOwnX509Svid(raw({ x509Svid: caLeaf.certDer, x509SvidKey: caLeaf.keyPkcs8Der })),
      /must not have CA flag/,
    );
    const noDs = await issueSvid(inter, { spiffeId: ID, keyUsages: ['keyAgreement'] });
    assert.throws(
      () => parseOwnX509Svid(raw({ x509Svid: noDs.certDer, x509SvidKey: noDs.keyPkcs8Der })),
      /must have 'digitalSignature'/,
    );
  });

  it('rejects malformed or empty chains and bundles, and expired SVIDs', () => {
    assert.throws(() => parseOwnX509Svid(raw({ x509Svid: new Uint8Array(0) })), /contains no certificates/);
    assert.throws(
      () => parseOwnX509Svid(raw({ x509Svid: svid.certDer.subarray(0, 100) })),
      /not concatenated DER/,
    );
    assert.throws(
      () => parseOwnX509Svid(raw({ bundle: new Uint8Array(0) })),
      /bundle for trust domain "spike.ist" is empty/,
    );
    assert.throws(
      () => parseOwnX509Svid(raw({ bundle: Uint8Array.of(0x30, 0x00) })),
      /bundle certificate 0: not a valid X.509/,
    );
    assert.throws(() => parseOwnX509Svid(raw(), new Date(svid.notAfter.getTime() + 1000)), /has expired/);
  });
});
