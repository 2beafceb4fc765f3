import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { bundlesFromCas, createCa, issueSvid } from './mint.ts';
import { PeerNotAuthorizedError, verifyTlsPeer } from './mtls.ts';
import { SvidValidationError } from './svid.ts';

const TD = 'spike.ist';
const ID = 'spiffe://spike.ist/workload/app';
const anyone = (): boolean => true;

/** The two calls `peerChainDer` makes on a connected socket, for a leaf-only chain. */
function socketPresenting(der: Uint8Array): tls.TLSSocket {
  return {
    getPeerX509Certificate: () => new X509Certificate(der),
    getPeerCertificate: () => ({ raw: Buffer.from(der) }),
  } as unknown as tls.TLSSocket;
}

describe('verifyTlsPeer memo of verified chains', () => {
  it('answers a chain seen before with the same verdict, and still asks the authorizer', async () => {
    const ca = await createCa({ trustDomain: TD });
    const leaf = await issueSvid(ca, { spiffeId: ID });
    const bundles = bundlesFromCas([ca]);
    const first = verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client');
    const second = verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client');
    assert.equal(second.id.toString(), ID);
    assert.equal(second, first, 'the memoized verdict is reused');
    assert.throws(
      () => verifyTlsPeer(socketPresenting(leaf.certDer), bundles, () => false, 'client'),
      PeerNotAuthorizedError,
    );
  });

  it('never accepts a remembered chain outside its validity, before or after', async () => {
    const ca = await createCa({ trustDomain: TD });
    const leaf = await issueSvid(ca, { spiffeId: ID });
    const bundles = bundlesFromCas([ca]);
    verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client');
    const late = new Date(leaf.notAfter.getTime() + 1000);
    assert.throws(
      () => verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client', late),
      (err: unknown) =>
        err instanceof SvidValidationError && /leaf certificate has expired/.test(err.message),
    );
    const early = new Date(leaf.notBefore.getTime() - 1000);
    assert.throws(
      () => verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client', early),
      /not yet valid/,
    );
  });

  it('never accepts a remembered chain once its root has expired', async () => {
    const ca = await createCa({ trustDomain: TD, ttlMs: 60_000 });
    const leaf = await issueSvid(ca, { spiffeId: ID, ttlMs: 3_600_000 });
    const bundles = bundlesFromCas([ca]);
    verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client');
    const afterRoot = new Date(ca.notAfter.getTime() + 1000);
    assert.ok(afterRoot < leaf.notAfter, 'the leaf itself is still valid then');
    assert.throws(
      () => verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client', afterRoot),
      /root certificate has expired/,
    );
  });

  it('checks again against other bundles, and when the roots of the same bundles change', async () => {
    const ca = await createCa({ trustDomain: TD });
    const other = await createCa({ trustDomain: TD });
    const leaf = await issueSvid(ca, { spiffeId: ID });
    const bundles = bundlesFromCas([ca]);
    verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client');
    assert.throws(
      () => verifyTlsPeer(socketPresenting(leaf.certDer), bundlesFromCas([other]), anyone, 'client'),
      SvidValidationError,
    );
    // The same map edited in place to trust another root only.
    (bundles as Map<string, readonly Uint8Array[]>).set(TD, [other.rootDer]);
    assert.throws(
      () => verifyTlsPeer(socketPresenting(leaf.certDer), bundles, anyone, 'client'),
      SvidValidationError,
    );
  });
});
