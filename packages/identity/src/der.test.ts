import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { DerError, concatDer, derToPem, pemToDer, splitDer } from './der.ts';
import { createCa, issueSvid } from './mint.ts';
import type { MintedCa } from './mint.ts';

describe('splitDer', () => {
  let ca: MintedCa;
  let certs: Uint8Array[];
  before(async () => {
    ca = await createCa({ trustDomain: 'example.org' });
    const a = await issueSvid(ca, { spiffeId: 'spiffe://example.org/a' });
    const b = await issueSvid(ca, { spiffeId: 'spiffe://example.org/b' });
    certs = [a.certDer, b.certDer, ca.certDer];
  });

  it('splits concatenated certificates back into the originals', () => {
    const parts = splitDer(concatDer(certs));
    assert.equal(parts.length, 3);
    parts.forEach((p, i) => assert.deepEqual(p, certs[i]));
    assert.equal(new X509Certificate(parts[2]!).ca, true);
    assert.deepEqual(splitDer(new Uint8Array(0)), []);
  });

  it('returns copies, not views of the input', () => {
    const joined = concatDer(certs);
    const parts = splitDer(joined);
    joined.fill(0);
    assert.deepEqual(parts[0], certs[0]);
  });

  it('rejects every truncation of a valid chain', () => {
    const joined = concatDer(certs.slice(0, 2));
    const first = certs[0]!.length;
    for (const cut of [1, 2, 3, 50, first - 1, first + 1, first + 4, joined.length - 1]) {
      assert.throws(() => splitDer(joined.subarray(0, cut)), DerError, `cut at ${cut}`);
    }
  });

  it('rejects non-SEQUENCE elements, indefinite and non-minimal lengths', () => {
    assert.throws(() => splitDer(Uint8Array.of(0x02, 0x01, 0x00)), /not a DER SEQUENCE/);
    assert.throws(
      () => splitDer(concatDer([certs[0]!, Uint8Array.of(0x04, 0x00)])),
      /offset \d+ is not a DER SEQUENCE/,
    );
    assert.throws(() => splitDer(Uint8Array.of(0x30, 0x80, 0x00, 0x00)), /indefinite length/);
    assert.throws(() => splitDer(Uint8Array.of(0x30, 0x81, 0x05, 1, 2, 3, 4, 5)), /non-minimal/);
    assert.throws(
      () => splitDer(Uint8Array.of(0x30, 0x82, 0x00, 0x90, ...new Uint8Array(0x90))),
      /non-minimal/,
    );
    assert.throws(() => splitDer(Uint8Array.of(0x30, 0x85, 1, 1, 1, 1, 1)), /oversized length/);
    assert.throws(() => splitDer(Uint8Array.of(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff)), DerError);
    assert.throws(() => splitDer(Uint8Array.of(0x30)), /truncated/);
    // Short-form and long-form lengths both work.
    assert.deepEqual(splitDer(Uint8Array.of(0x30, 0x00, 0x30, 0x01, 0x05)), [
      Uint8Array.of(0x30, 0x00),
      Uint8Array.of(0x30, 0x01, 0x05),
    ]);
    const long = Uint8Array.of(0x30, 0x81, 0x80, ...new Uint8Array(0x80));
    assert.deepEqual(splitDer(long), [long]);
  });

  it('never throws anything but DerError on random input (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const parts = splitDer(bytes);
          assert.deepEqual(concatDer(parts), bytes);
        } catch (err) {
          assert.ok(err instanceof DerError);
        }
      }),
    );
  });

  it('PEM round-trips certificates and keys', () => {
    const pem = certs.map((c) => derToPem(c)).join('');
    assert.deepEqual(pemToDer(pem), certs);
    assert.deepEqual(pemToDer(pem, 'CERTIFICATE'), certs);
    assert.deepEqual(pemToDer(pem, 'PRIVATE KEY'), []);
    const keyPem = derToPem(ca.keyPkcs8Der, 'PRIVATE KEY');
    assert.equal(keyPem, ca.keyPem);
    const mixed = `junk before\n${keyPem}\nbetween\n${pem}trailer`;
    assert.deepEqual(pemToDer(mixed, 'PRIVATE KEY'), [ca.keyPkcs8Der]);
    assert.deepEqual(pemToDer(mixed, 'CERTIFICATE'), certs);
    assert.equal(pemToDer(mixed).length, 4);
    for (const line of derToPem(certs[0]!).split('\n')) assert.ok(line.length <= 64);
    // Node accepts our PEM.
    assert.equal(new X509Certificate(derToPem(ca.certDer)).ca, true);
  });

  it('rejects malformed PEM', () => {
    const good = derToPem(certs[0]!);
    assert.throws(() => pemToDer(good.replace('-----END CERTIFICATE-----', '')), /no END line/);
    assert.throws(() => pemToDer(good.replace(/\n([A-Za-z0-9])/, '\n!$1')), /malformed base64/);
    assert.throws(
      () => pemToDer('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'),
      /malformed base64/,
    );
    assert.throws(
      () => pemToDer('-----BEGIN CERTIFICATE-----\nQUJD\nRA\n-----END CERTIFICATE-----\n'),
      /malformed base64/,
    );
    assert.throws(() => pemToDer('-----BEGIN ' + 'X'.repeat(200)), /malformed/);
    assert.deepEqual(pemToDer('no pem here'), []);
  });
});
