/**
 * Key-check value: a 32-byte tag stored next to the data so Nexus can tell whether a
 * reconstructed root key is the right one before using it (SPIKE has none and silently skips
 * rows a wrong key cannot decrypt). It is HMAC-SHA256 under the root key's own 'key-check'
 * purpose key over a fixed label: one-way, and unrelated to every other purpose key.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './compare.ts';
import { derivePurposeKey } from './kdf.ts';
import { zeroize } from './zeroize.ts';

const LABEL = new TextEncoder().encode('spike-ts/key-check-value/v1');

export const KEY_CHECK_VALUE_BYTES = 32;

export function computeKeyCheckValue(rootKey: Uint8Array): Uint8Array {
  const checkKey = derivePurposeKey(rootKey, 'key-check');
  try {
    return new Uint8Array(createHmac('sha256', checkKey).update(LABEL).digest());
  } finally {
    zeroize(checkKey);
  }
}

/** Constant-time comparison of `kcv` with the value computed from `rootKey`. */
export function verifyKeyCheckValue(rootKey: Uint8Array, kcv: Uint8Array): boolean {
  const expected = computeKeyCheckValue(rootKey);
  try {
    return constantTimeEqual(expected, kcv);
  } finally {
    zeroize(expected);
  }
}
