import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSecureContext } from 'node:tls';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted } from './mint.ts';
import type { MintedCa, MintedSvid } from './mint.ts';
import { SourceClosedError, createStaticX509Source } from './static-source.ts';
import { verifyPeerX509Svid } from './svid.ts';

describe('static X.509 source', () => {
  let root: MintedCa;
  let inter: MintedCa;
  let other: MintedCa;
  let a: MintedSvid;
  let b: MintedSvid;

  before(async () => {
    root = await createCa({ trustDomain: 'example.org' });
    inter = await createCa({ trustDomain: 'example.org', parent: root });
    other = await createCa({ trustDomain: 'other.test' });
    a = await issueSvid(root, { spiffeId: 'spiffe://example.org/a' });
    b = await issueSvid(inter, { spiffeId: 'spiffe://example.org/b' });
  });

  it('svidFromMinted builds a TLS-ready chain with the intermediates', () => {
    const direct = svidFromMinted(a);
    assert.equal(direct.spiffeId, 'spiffe://example.org/a');
    assert.deepEqual(direct.certChainDer, [a.certDer]);
    assert.equal(direct.certChainPem, a.certPem);
    assert.equal(direct.notAfter.getTime(), a.notAfter.getTime());

    const chained = svidFromMinted(b);
    assert.deepEqual(chained.certChainDer, [b.certDer, inter.certDer]);
    assert.equal(chained.certChainPem, b.certPem + inter.certPem);
    // Explicit CA list: roots are skipped, intermediates kept.
    assert.deepEqual(svidFromMinted(b, [inter, root]).certChainDer, [b.certDer, inter.certDer]);
    assert.deepEqual(svidFromMinted(b, []).certChainDer, [b.certDer]);
    // Node accepts the material and the chain verifies against the root.
    createSecureContext({ key: chained.privateKeyPem, cert: chained.certChainPem });
    assert.equal(verifyPeerX509Svid(chained.certChainDer, bundlesFromCas([inter])).toString(), b.spiffeId);
  });

  it('bundlesFromCas groups roots by trust domain without duplicates', () => {
    const bundles = bundlesFromCas([root, inter, other]);
    assert.deepEqual([...bundles.keys()].sort(), ['example.org', 'other.test']);
    assert.deepEqual(bundles.get('example.org'), [root.certDer]);
    assert.deepEqual(bundles.get('other.test'), [other.certDer]);
  });

  it('update replaces the material and notifies listeners until they unsubscribe', async () => {
    const bundles1 = bundlesFromCas([root]);
    const bundles2 = bundlesFromCas([root, other]);
    const source = createStaticX509Source(svidFromMinted(a), bundles1);
    const seen: string[] = [];
    const off1 = source.onUpdate(() => seen.push('1:' + source.getX509Svid().spiffeId));
    source.onUpdate(() => seen.push('2:' + String(source.getX509Bundles().size)));
    assert.equal(source.getX509Svid().spiffeId, a.spiffeId);
    source.update(svidFromMinted(b), bundles2);
    assert.deepEqual(seen, ['1:spiffe://example.org/b', '2:2']);
    off1();
    source.update(svidFromMinted(a), bundles1);
    assert.deepEqual(seen, ['1:spiffe://example.org/b', '2:2', '2:1']);
    assert.equal(source.getX509Svid().spiffeId, a.spiffeId);

    await source.close();
    assert.throws(() => source.getX509Svid(), SourceClosedError);
    assert.throws(() => source.getX509Bundles(), SourceClosedError);
    assert.throws(() => source.update(svidFromMinted(b), bundles2), SourceClosedError);
    assert.equal(seen.length, 3);
  });
});
