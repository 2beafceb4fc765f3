import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  bytesToBigint,
  drawScalars,
  invert,
  mod,
  P256_ORDER,
  scalarToBytes,
  sha256Chain,
} from './scalar-field.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const N_HEX = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';

function fixedBlocks(...blocks: string[]): () => Uint8Array {
  let i = 0;
  return () => {
    const block = blocks[i++];
    if (block === undefined) throw new Error('stream exhausted');
    return hex(block);
  };
}

describe('P-256 scalar field', () => {
  it('has the P-256 group order', () => {
    assert.equal(scalarToBytes(P256_ORDER).toString(), hex(N_HEX).toString());
  });

  it('inverts every non-zero element', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: P256_ORDER - 1n }), (a) => {
        assert.equal(mod(a * invert(a)), 1n);
      }),
    );
    assert.equal(invert(P256_ORDER - 1n), P256_ORDER - 1n);
    assert.throws(() => invert(0n), RangeError);
    assert.throws(() => invert(P256_ORDER), RangeError);
  });

  it('round-trips 32-byte big-endian encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        assert.deepEqual(scalarToBytes(bytesToBigint(bytes)), bytes);
      }),
    );
    assert.equal(bytesToBigint(Uint8Array.of(1, 0)), 256n);
  });
});

describe('sha256Chain', () => {
  it('yields SHA-256(seed), then SHA-256 of each previous block', () => {
    const seed = new TextEncoder().encode('seed');
    const b1 = createHash('sha256').update(seed).digest();
    const b2 = createHash('sha256').update(b1).digest();
    const b3 = createHash('sha256').update(b2).digest();
    const next = sha256Chain(seed);
    assert.deepEqual(Buffer.from(next()), b1);
    assert.deepEqual(Buffer.from(next()), b2);
    assert.deepEqual(Buffer.from(next()), b3);
  });

  it('hands out copies the consumer may zero without breaking the chain', () => {
    const a = sha256Chain(Uint8Array.of(1));
    const b = sha256Chain(Uint8Array.of(1));
    a().fill(0);
    b();
    assert.deepEqual(a(), b());
  });
});

describe('drawScalars', () => {
  it('skips blocks that are not below n (Go crypto/rand.Int rejection sampling)', () => {
    const below = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550';
    // Same stream fed to circl v1.6.3 group.P256.RandomScalar yields `below`.
    const got = drawScalars(fixedBlocks('ff'.repeat(32), N_HEX, below, '00'.repeat(31) + '05'), 2);
    assert.deepEqual(got, [P256_ORDER - 1n, 5n]);
  });

  it('accepts zero (rand.Int may return it) and consumes one block per scalar otherwise', () => {
    assert.deepEqual(drawScalars(fixedBlocks('00'.repeat(32), '00'.repeat(31) + '01'), 2), [0n, 1n]);
    assert.deepEqual(drawScalars(fixedBlocks(), 0), []);
  });

  it('refuses blocks of the wrong size', () => {
    assert.throws(() => drawScalars(fixedBlocks('00'.repeat(31)), 1), RangeError);
  });
});
