import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { derivePurposeKey, hkdfSha256, type KeyPurpose } from './kdf.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const PURPOSES: KeyPurpose[] = ['storage', 'storage-index', 'cipher', 'key-check'];

describe('hkdfSha256', () => {
  it('matches RFC 5869 test case 1', () => {
    const okm = hkdfSha256(
      new Uint8Array(22).fill(0x0b),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    assert.equal(
      toHex(okm),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });
});

describe('derivePurposeKey', () => {
  it('gives distinct 32-byte keys per purpose and context, deterministically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (root) => {
        const seen = new Set<string>();
        for (const purpose of PURPOSES) {
          for (const context of ['', 'gen-1', 'gen-2']) {
            const key = derivePurposeKey(root, purpose, context);
            assert.equal(key.byteLength, 32);
            assert.deepEqual(derivePurposeKey(root, purpose, context), key);
            seen.add(toHex(key));
          }
          assert.deepEqual(derivePurposeKey(root, purpose), derivePurposeKey(root, purpose, ''));
        }
        assert.equal(seen.size, PURPOSES.length * 3);
        assert.ok(!seen.has(toHex(root)), 'never the root key itself');
      }),
      { numRuns: 25 },
    );
  });

  it('gives different keys for different root keys', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(1);
    b[31] = 2;
    assert.notDeepEqual(derivePurposeKey(a, 'storage'), derivePurposeKey(b, 'storage'));
  });

  it('is pinned to a fixed derivation (changing it would orphan stored data)', () => {
    const root = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    assert.equal(toHex(derivePurposeKey(root, 'storage')), PINNED_STORAGE_KEY);
  });

  it('rejects bad inputs', () => {
    assert.throws(() => derivePurposeKey(new Uint8Array(16), 'storage'), RangeError);
    assert.throws(() => derivePurposeKey(new Uint8Array(32), 'nope' as KeyPurpose), RangeError);
    assert.throws(() => derivePurposeKey(new Uint8Array(32), 'cipher', 'x'.repeat(2000)), RangeError);
  });
});

/** HKDF-SHA256(root, salt 'spike-ts/root-key/hkdf-salt/v1', info lp('spike-ts/purpose-key/v1') ‖ lp('storage') ‖ lp('')), computed independently. */
const PINNED_STORAGE_KEY = 'a84c29604661192bfc7d8bbd17e7e597004eeebe4ec1625cf5915691804b7b94';
