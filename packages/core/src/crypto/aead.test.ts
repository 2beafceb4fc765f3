import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aesGcmDecrypt, aesGcmEncrypt, DecryptionError, randomBytes } from './aead.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

// NIST GCM specification (McGrew & Viega, "The Galois/Counter Mode of Operation"), AES-256 test cases.
const NIST = [
  {
    name: 'test case 13 (empty plaintext)',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    pt: '',
    aad: '',
    ct: '',
    tag: '530f8afbc74536b9a963b4f1c4cb738b',
  },
  {
    name: 'test case 14 (one zero block)',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    pt: '00'.repeat(16),
    aad: '',
    ct: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'test case 16 (with associated data)',
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    pt:
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
      '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    ct:
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

describe('aesGcmEncrypt / aesGcmDecrypt', () => {
  for (const v of NIST) {
    it(`matches NIST GCM ${v.name}`, () => {
      const aad = v.aad === '' ? undefined : hex(v.aad);
      const sealed = aesGcmEncrypt(hex(v.key), hex(v.iv), hex(v.pt), aad);
      assert.equal(toHex(sealed), v.ct + v.tag);
      const opened = aesGcmDecrypt(hex(v.key), hex(v.iv), sealed, aad);
      assert.equal(toHex(opened), v.pt);
      assert.equal(
        Object.getPrototypeOf(opened),
        Uint8Array.prototype,
        'plain Uint8Array, not a pooled Buffer',
      );
    });
  }

  it('round-trips random inputs and rejects any flipped bit or other aad', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(),
        (key, nonce, pt, aad, pick) => {
          const sealed = aesGcmEncrypt(key, nonce, pt, aad);
          assert.equal(sealed.byteLength, pt.byteLength + 16);
          assert.deepEqual(aesGcmDecrypt(key, nonce, sealed, aad), pt);
          const bad = sealed.slice();
          bad[pick % bad.length]! ^= 1 << (pick % 8);
          assert.throws(() => aesGcmDecrypt(key, nonce, bad, aad), DecryptionError);
          const otherAad = Uint8Array.of(...aad, 0);
          assert.throws(() => aesGcmDecrypt(key, nonce, sealed, otherAad), DecryptionError);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects a wrong key, a wrong nonce size and a short input with the same DecryptionError', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const sealed = aesGcmEncrypt(key, nonce, new TextEncoder().encode('hello'));
    const messages = new Set<string>();
    for (const attempt of [
      () => aesGcmDecrypt(randomBytes(32), nonce, sealed),
      () => aesGcmDecrypt(key, randomBytes(16), sealed),
      () => aesGcmDecrypt(key, nonce, sealed.subarray(0, 15)),
      () => aesGcmDecrypt(key, nonce, sealed.subarray(0, sealed.length - 1)),
    ]) {
      assert.throws(attempt, (err: unknown) => {
        assert.ok(err instanceof DecryptionError);
        messages.add(err.message);
        return true;
      });
    }
    assert.deepEqual([...messages], ['decryption failed']);
  });

  it('throws RangeError for bad key or nonce sizes when encrypting', () => {
    assert.throws(() => aesGcmEncrypt(randomBytes(16), randomBytes(12), new Uint8Array(1)), RangeError);
    assert.throws(() => aesGcmEncrypt(randomBytes(32), randomBytes(8), new Uint8Array(1)), RangeError);
    assert.throws(() => aesGcmDecrypt(randomBytes(31), randomBytes(12), new Uint8Array(16)), RangeError);
  });
});

describe('randomBytes', () => {
  it('returns fresh plain Uint8Arrays of the requested size', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    assert.equal(a.byteLength, 32);
    assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype);
    assert.notDeepEqual(a, b);
    assert.equal(randomBytes(0).byteLength, 0);
    assert.throws(() => randomBytes(-1), RangeError);
    assert.throws(() => randomBytes(1.5), RangeError);
  });
});
