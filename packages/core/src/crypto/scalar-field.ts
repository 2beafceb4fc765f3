/**
 * Arithmetic in the scalar field of P-256 (integers modulo the group order n), which is where
 * SPIKE's Shamir shares live. Scalars travel as 32-byte big-endian strings.
 *
 * Note: JavaScript bigint arithmetic is not constant time. The same is true of the Go library
 * SPIKE uses for P-256 scalars; splitting and recovery run rarely and locally.
 */
import { createHash } from 'node:crypto';

/** The order of the P-256 group: a 256-bit prime. */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export const SCALAR_BYTES = 32;

export function mod(a: bigint): bigint {
  const r = a % P256_ORDER;
  return r < 0n ? r + P256_ORDER : r;
}

/** Multiplicative inverse modulo n by the extended Euclidean algorithm. `a` must be non-zero mod n. */
export function invert(a: bigint): bigint {
  let r0 = P256_ORDER;
  let r1 = mod(a);
  if (r1 === 0n) throw new RangeError('zero has no inverse');
  let s0 = 0n;
  let s1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0);
}

/** Big-endian bytes to an unsigned integer (no reduction). */
export function bytesToBigint(bytes: Uint8Array): bigint {
  let out = 0n;
  for (const byte of bytes) out = (out << 8n) | BigInt(byte);
  return out;
}

/** An integer in 0..2^256-1 to exactly 32 big-endian bytes. */
export function scalarToBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(SCALAR_BYTES);
  let v = value;
  for (let i = SCALAR_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * SPIKE's deterministic byte stream: the first 32-byte block is SHA-256(seed), each following
 * block is SHA-256 of the block before it.
 */
export function sha256Chain(seed: Uint8Array): () => Uint8Array {
  let block: Uint8Array | undefined;
  return () => {
    const next = new Uint8Array(
      createHash('sha256')
        .update(block ?? seed)
        .digest(),
    );
    block?.fill(0);
    block = next;
    return next.slice();
  };
}

/**
 * Draw `count` uniform scalars in [0, n) from a stream of 32-byte blocks by rejection sampling:
 * a block whose big-endian value is ≥ n is discarded and the next one is used. With 32-byte
 * reads and a 256-bit modulus whose top byte is 0xff, this is exactly how Go's
 * `crypto/rand.Int(reader, n)` consumes a reader (no bits masked, no reduction), which is what
 * circl v1.6.x `group.P256.RandomScalar` calls.
 */
export function drawScalars(nextBlock: () => Uint8Array, count: number): bigint[] {
  const out: bigint[] = [];
  while (out.length < count) {
    const block = nextBlock();
    if (block.byteLength !== SCALAR_BYTES) throw new RangeError('scalar blocks must be 32 bytes');
    const candidate = bytesToBigint(block);
    block.fill(0);
    if (candidate < P256_ORDER) out.push(candidate);
  }
  return out;
}
