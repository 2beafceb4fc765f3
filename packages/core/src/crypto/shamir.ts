/**
 * Shamir secret sharing of the root key over the P-256 scalar field, share-for-share identical
 * to SPIKE 0.8.2 (Go), so SPIKE's keepers, bootstrap and recovery files interoperate with ours.
 *
 * How SPIKE builds shares (github.com/cloudflare/circl v1.6.3 `secretsharing` over `group.P256`,
 * seeded by SPIKE's deterministic reader), reproduced here:
 *   - the secret is the root key read as a 32-byte big-endian integer (must be in 1..n-1);
 *   - the polynomial has degree t-1; its t-1 higher coefficients are drawn, lowest degree first,
 *     from the stream SHA-256(rootKey), SHA-256(that block), ... 32 bytes per draw, each block
 *     kept only if it is < n (Go `crypto/rand.Int` rejection sampling), otherwise skipped;
 *   - share i (i = 1..n) is the polynomial at x = i, written as 32 bytes big-endian.
 * So the share set is a pure function of (rootKey, threshold, shares), and Nexus can recompute
 * the exact shares it pushes to keepers. Verified against shares produced by circl v1.6.3 with
 * that reader (known-answer vectors in shamir.test.ts).
 */
import { randomBytes } from './aead.ts';
import {
  bytesToBigint,
  drawScalars,
  invert,
  mod,
  P256_ORDER,
  SCALAR_BYTES,
  scalarToBytes,
  sha256Chain,
} from './scalar-field.ts';

export interface Share {
  readonly id: number;
  /** 32-byte big-endian scalar */
  readonly value: Uint8Array;
}

export type ShamirErrorCode =
  | 'shamir_nil_shard'
  | 'shamir_empty_shard'
  | 'shamir_invalid_index'
  | 'shamir_duplicate_index'
  | 'shamir_not_enough_shards'
  | 'shamir_reconstruction_failed';

/** Rejected shares or a failed reconstruction. Messages never contain share or key bytes. */
export class ShamirError extends Error {
  override readonly name = 'ShamirError';
  readonly code: ShamirErrorCode;
  constructor(code: ShamirErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Upper bound on the number of shares (and share ids), to bound work on caller input. */
export const MAX_SHARES = 65_535;

function assertRootKey(rootKey: Uint8Array): bigint {
  if (!(rootKey instanceof Uint8Array) || rootKey.byteLength !== SCALAR_BYTES) {
    throw new RangeError('root key must be 32 bytes');
  }
  const secret = bytesToBigint(rootKey);
  if (secret === 0n || secret >= P256_ORDER) {
    throw new RangeError('root key must be a non-zero scalar below the P-256 group order');
  }
  return secret;
}

/** True when `rootKey` is 32 bytes whose big-endian value is in 1..n-1 (splittable). */
export function isValidRootKey(rootKey: Uint8Array): boolean {
  try {
    assertRootKey(rootKey);
    return true;
  } catch {
    return false;
  }
}

/** A fresh random root key that `splitRootKey` accepts (rejection sampling below n). */
export function generateRootKey(): Uint8Array {
  for (;;) {
    const key = randomBytes(SCALAR_BYTES);
    if (isValidRootKey(key)) return key;
    key.fill(0);
  }
}

/**
 * Split the root key into `shares` shares with ids 1..shares, any `threshold` of which recover
 * it. Deterministic (see the module comment). Throws `RangeError` for an invalid root key (zero,
 * ≥ n, not 32 bytes) or invalid counts (need 1 ≤ threshold ≤ shares ≤ MAX_SHARES).
 * With threshold 1 every share equals the root key (SPIKE allows this; it offers no protection).
 */
export function splitRootKey(rootKey: Uint8Array, threshold: number, shares: number): Share[] {
  const secret = assertRootKey(rootKey);
  if (!Number.isSafeInteger(threshold) || !Number.isSafeInteger(shares)) {
    throw new RangeError('threshold and share count must be integers');
  }
  if (threshold < 1 || shares < threshold || shares > MAX_SHARES) {
    throw new RangeError(`need 1 <= threshold <= shares <= ${MAX_SHARES}`);
  }
  const coefficients = [secret, ...drawScalars(sha256Chain(rootKey), threshold - 1)];
  const out: Share[] = [];
  for (let id = 1; id <= shares; id++) {
    const x = BigInt(id);
    let y = 0n;
    for (let i = coefficients.length - 1; i >= 0; i--) y = mod(y * x + (coefficients[i] ?? 0n));
    out.push({ id, value: scalarToBytes(y) });
  }
  // Self-check like SPIKE does: the first `threshold` shares must give the key back.
  const check = combineShares(out.slice(0, threshold), threshold);
  const ok = bytesToBigint(check) === secret;
  check.fill(0);
  if (!ok)
    throw new ShamirError('shamir_reconstruction_failed', 'split shares do not reconstruct the root key');
  return out;
}

/**
 * Throw `ShamirError` unless `share` is usable: id an integer in 1..maxId
 * (`shamir_invalid_index`); value exactly 32 bytes forming a scalar below n (`shamir_nil_shard`);
 * value not all zero (`shamir_empty_shard`).
 */
export function validateShare(share: Share, maxId: number = MAX_SHARES): void {
  if (!Number.isSafeInteger(maxId) || maxId < 1) throw new RangeError('maxId must be a positive integer');
  const candidate: unknown = share;
  if (typeof candidate !== 'object' || candidate === null) {
    throw new ShamirError('shamir_nil_shard', 'shard is missing');
  }
  const { id, value } = candidate as { id?: unknown; value?: unknown };
  if (!(value instanceof Uint8Array) || value.byteLength !== SCALAR_BYTES) {
    throw new ShamirError('shamir_nil_shard', `shard must be ${SCALAR_BYTES} bytes`);
  }
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || id > maxId) {
    throw new ShamirError('shamir_invalid_index', `shard index must be an integer in 1..${maxId}`);
  }
  const scalar = bytesToBigint(value);
  if (scalar === 0n) throw new ShamirError('shamir_empty_shard', 'shard is all zeros');
  if (scalar >= P256_ORDER) {
    throw new ShamirError('shamir_nil_shard', 'shard is not a valid scalar (not below the group order)');
  }
}

/**
 * Recover the root key from shares by Lagrange interpolation at 0, using every share given.
 * `threshold` (default 2, SPIKE's default) is the minimum number of shares accepted; pass 1
 * explicitly for a 1-of-n deployment. Fewer than `threshold` shares throws
 * `shamir_not_enough_shards` (fewer than the real threshold would silently give a wrong key —
 * that is what the key-check value catches). Invalid or duplicate shares throw the matching
 * `ShamirError`; a zero result throws `shamir_reconstruction_failed`.
 */
export function combineShares(shares: readonly Share[], threshold = 2): Uint8Array {
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw new RangeError('threshold must be a positive integer');
  }
  const given: unknown = shares;
  if (!Array.isArray(given) || shares.length < threshold) {
    throw new ShamirError('shamir_not_enough_shards', `need at least ${threshold} shards`);
  }
  if (shares.length > MAX_SHARES) throw new ShamirError('shamir_invalid_index', 'too many shards');
  const seen = new Set<number>();
  for (const share of shares) {
    validateShare(share);
    if (seen.has(share.id)) throw new ShamirError('shamir_duplicate_index', 'duplicate shard index');
    seen.add(share.id);
  }
  const xs = shares.map((share) => BigInt(share.id));
  let secret = 0n;
  for (let j = 0; j < shares.length; j++) {
    const xj = xs[j] ?? 0n;
    let numerator = 1n;
    let denominator = 1n;
    for (let m = 0; m < shares.length; m++) {
      if (m === j) continue;
      const xm = xs[m] ?? 0n;
      numerator = mod(numerator * xm);
      denominator = mod(denominator * (xm - xj));
    }
    const yj = bytesToBigint(shares[j]?.value ?? new Uint8Array(0));
    secret = mod(secret + yj * numerator * invert(denominator));
  }
  if (secret === 0n) throw new ShamirError('shamir_reconstruction_failed', 'shards reconstruct to zero');
  return scalarToBytes(secret);
}

/** A share value as SPIKE's JSON: an array of exactly 32 integers 0..255. */
export function shardToJson(value: Uint8Array): number[] {
  if (!(value instanceof Uint8Array) || value.byteLength !== SCALAR_BYTES) {
    throw new ShamirError('shamir_nil_shard', `shard must be ${SCALAR_BYTES} bytes`);
  }
  return Array.from(value);
}

/**
 * Parse SPIKE's JSON shard strictly: exactly 32 integers in 0..255, else
 * `ShamirError('shamir_nil_shard')` (SPIKE decodes anything else into a nil shard). An all-zero
 * shard parses; `validateShare` rejects it as `shamir_empty_shard`.
 */
export function shardFromJson(value: unknown): Uint8Array {
  if (!Array.isArray(value) || value.length !== SCALAR_BYTES) {
    throw new ShamirError('shamir_nil_shard', `shard must be an array of ${SCALAR_BYTES} integers`);
  }
  const out = new Uint8Array(SCALAR_BYTES);
  for (let i = 0; i < SCALAR_BYTES; i++) {
    const byte: unknown = value[i];
    if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < 0 || byte > 255) {
      out.fill(0);
      throw new ShamirError('shamir_nil_shard', 'shard elements must be integers in 0..255');
    }
    out[i] = byte;
  }
  return out;
}
