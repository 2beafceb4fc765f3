import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeKeyCheckValue, verifyKeyCheckValue } from './key-check.ts';
import { derivePurposeKey } from './kdf.ts';

const rootArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('key-check value', () => {
  it('verifies with the right key and fails with any other key', () => {
    fc.assert(
      fc.property(rootArb, rootArb, (right, other) => {
        fc.pre(!Buffer.from(right).equals(other));
        const kcv = computeKeyCheckValue(right);
        assert.equal(kcv.byteLength, 32);
        assert.equal(verifyKeyCheckValue(right, kcv), true);
        assert.equal(verifyKeyCheckValue(other, kcv), false);
      }),
      { numRuns: 50 },
    );
  });

  it('fails for a tampered, truncated or empty value', () => {
    const root = new Uint8Array(32).fill(7);
    const kcv = computeKeyCheckValue(root);
    const flipped = kcv.slice();
    flipped[0] = flipped[0]! ^ 1;
    assert.equal(verifyKeyCheckValue(root, flipped), false);
    assert.equal(verifyKeyCheckValue(root, kcv.subarray(0, 31)), false);
    assert.equal(verifyKeyCheckValue(root, new Uint8Array(0)), false);
  });

  it('reveals neither the root key nor any purpose key', () => {
    const root = new Uint8Array(32).fill(9);
    const kcv = Buffer.from(computeKeyCheckValue(root));
    assert.ok(!kcv.equals(root));
    for (const purpose of ['storage', 'storage-index', 'cipher', 'key-check'] as const) {
      assert.ok(!kcv.equals(derivePurposeKey(root, purpose)));
    }
  });

  it('is pinned to a fixed construction (stored values must stay valid)', () => {
    const root = Uint8Array.from({ length: 32 }, (_, i) => i);
    assert.equal(
      Buffer.from(computeKeyCheckValue(root)).toString('hex'),
      // HMAC-SHA256(key-check purpose key, 'spike-ts/key-check-value/v1'), computed independently.
      '65744489c8b176fe273c78da76f3be6d6c851c72884610aa346b2e3dc0da8eb5',
    );
  });
});
