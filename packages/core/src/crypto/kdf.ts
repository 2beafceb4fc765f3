/**
 * Purpose keys: one root key, many independent 32-byte keys, derived with HKDF-SHA256
 * (RFC 5869). Each purpose (and optional context, e.g. a key generation) gets its own key, so
 * material from one use (the cipher API, say) can never open data of another (storage).
 */
import { hkdfSync } from 'node:crypto';
import { associatedData } from './envelope.ts';

export type KeyPurpose = 'storage' | 'storage-index' | 'cipher' | 'key-check';

const PURPOSES: ReadonlySet<string> = new Set<KeyPurpose>([
  'storage',
  'storage-index',
  'cipher',
  'key-check',
]);

/** Fixed, public HKDF salt (RFC 5869 §3.1: a non-secret salt still strengthens extraction). */
const SALT = new TextEncoder().encode('spike-ts/root-key/hkdf-salt/v1');
const INFO_LABEL = 'spike-ts/purpose-key/v1';
/** node:crypto refuses HKDF info longer than 1024 bytes. */
const MAX_INFO_BYTES = 1024;

export const PURPOSE_KEY_BYTES = 32;

/** HKDF-SHA256 extract-and-expand. Returns a fresh `Uint8Array` of `length` bytes. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/**
 * Derive the 32-byte key for `purpose` (and `context`, default empty) from the 32-byte root key.
 * Deterministic; distinct purposes or contexts give unrelated keys. The caller zeroes the result.
 */
export function derivePurposeKey(rootKey: Uint8Array, purpose: KeyPurpose, context = ''): Uint8Array {
  if (!(rootKey instanceof Uint8Array) || rootKey.byteLength !== 32) {
    throw new RangeError('root key must be 32 bytes');
  }
  if (!PURPOSES.has(purpose)) {
    throw new RangeError('unknown key purpose');
  }
  const info = associatedData(INFO_LABEL, purpose, context);
  if (info.byteLength > MAX_INFO_BYTES) {
    throw new RangeError('key derivation context is too long');
  }
  return hkdfSha256(rootKey, SALT, info, PURPOSE_KEY_BYTES);
}
