import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { constantTimeEqual } from './compare.ts';
import { zeroize } from './zeroize.ts';

describe('constantTimeEqual', () => {
  it('is true for equal contents and false otherwise', () => {
    assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)), true);
    assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
    assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4)), false);
    assert.equal(constantTimeEqual(Uint8Array.of(0, 2, 3), Uint8Array.of(1, 2, 3)), false);
  });

  it('is false for different lengths, including prefixes', () => {
    assert.equal(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), false);
    assert.equal(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2)), false);
    assert.equal(constantTimeEqual(new Uint8Array(0), Uint8Array.of(0)), false);
  });

  it('compares views by their own bytes only', () => {
    const backing = Uint8Array.of(9, 1, 2, 3, 9);
    assert.equal(constantTimeEqual(backing.subarray(1, 4), Uint8Array.of(1, 2, 3)), true);
  });

  it('agrees with a plain comparison on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        assert.equal(constantTimeEqual(a, b), Buffer.from(a).equals(b));
        assert.equal(constantTimeEqual(a, a.slice()), true);
      }),
    );
  });
});

describe('zeroize', () => {
  it('zeroes every given buffer and skips missing ones', () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = Buffer.from([4, 5]);
    zeroize(a, undefined, b, null);
    assert.deepEqual([...a], [0, 0, 0]);
    assert.deepEqual([...b], [0, 0]);
  });
});
