/**
 * Raw AES-256-GCM with a 12-byte nonce and a full 16-byte tag. This is the primitive under the
 * versioned envelope and the one SPIKE's own wire formats use directly (the cipher API and the
 * bootstrap proof of possession send `nonce` and `ciphertext‖tag` separately).
 *
 * Every output is a plain `Uint8Array` (not a pooled `Buffer`), so callers can zero it.
 */
import { createCipheriv, createDecipheriv, createSecretKey, KeyObject, randomFillSync } from 'node:crypto';
import { DecryptionError } from './decryption-error.ts';
import { zeroize } from './zeroize.ts';

export { DecryptionError } from './decryption-error.ts';

export const AES_KEY_BYTES = 32;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;

const ALGORITHM = 'aes-256-gcm';

/**
 * An AES-256 key: raw bytes, or a `KeyObject` made once with {@link aesKeyObject}. Long-lived keys
 * should be `KeyObject`s: node:crypto checks raw key bytes on every call at a noticeable cost
 * (several times the cost of a 1 KiB AES-GCM operation), a `KeyObject` once.
 */
export type AesKey = Uint8Array | KeyObject;

/** A key held by node:crypto (see {@link aesKeyObject}). */
export type AesKeyObject = KeyObject;

function assertKey(key: AesKey): void {
  if (key instanceof KeyObject) {
    if (key.type === 'secret' && key.symmetricKeySize === AES_KEY_BYTES) return;
  } else if (key instanceof Uint8Array && key.byteLength === AES_KEY_BYTES) {
    return;
  }
  throw new RangeError(`AES-256-GCM key must be ${AES_KEY_BYTES} bytes`);
}

/**
 * A `KeyObject` for a 32-byte key. Node keeps its own copy inside the object (released when the
 * object is collected); the caller may zero `raw` right after this returns.
 */
export function aesKeyObject(raw: Uint8Array): KeyObject {
  if (!(raw instanceof Uint8Array) || raw.byteLength !== AES_KEY_BYTES) {
    throw new RangeError(`AES-256-GCM key must be ${AES_KEY_BYTES} bytes`);
  }
  return createSecretKey(raw);
}

/** Encrypt; returns `ciphertext ‖ tag`. Throws `RangeError` for a bad key or nonce size. */
export function aesGcmEncrypt(
  key: AesKey,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  assertKey(key);
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== GCM_NONCE_BYTES) {
    throw new RangeError(`AES-GCM nonce must be ${GCM_NONCE_BYTES} bytes`);
  }
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: GCM_TAG_BYTES });
  if (aad !== undefined) cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(head.byteLength + tail.byteLength + tag.byteLength);
  out.set(head, 0);
  out.set(tail, head.byteLength);
  out.set(tag, head.byteLength + tail.byteLength);
  return out;
}

/**
 * Decrypt `ciphertext ‖ tag`. Every failure that depends on the input (wrong key, wrong nonce
 * size, short input, any modified byte, different associated data) throws the same
 * `DecryptionError`. Only a key of the wrong size (a programming error) throws `RangeError`.
 */
export function aesGcmDecrypt(
  key: AesKey,
  nonce: Uint8Array,
  ciphertextAndTag: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  assertKey(key);
  if (
    !(nonce instanceof Uint8Array) ||
    nonce.byteLength !== GCM_NONCE_BYTES ||
    !(ciphertextAndTag instanceof Uint8Array) ||
    ciphertextAndTag.byteLength < GCM_TAG_BYTES
  ) {
    throw new DecryptionError();
  }
  const split = ciphertextAndTag.byteLength - GCM_TAG_BYTES;
  let head: Uint8Array | undefined;
  let tail: Uint8Array | undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: GCM_TAG_BYTES });
    if (aad !== undefined) decipher.setAAD(aad);
    decipher.setAuthTag(ciphertextAndTag.subarray(split));
    head = decipher.update(ciphertextAndTag.subarray(0, split));
    tail = decipher.final();
    // GCM's final() yields no bytes: when `head` owns its memory (not a pooled slice), the
    // authenticated plaintext is a plain view of it, without a copy.
    if (tail.byteLength === 0 && head.byteOffset === 0 && head.buffer.byteLength === head.byteLength) {
      const out = new Uint8Array(head.buffer, 0, head.byteLength);
      head = undefined;
      return out;
    }
    const out = new Uint8Array(head.byteLength + tail.byteLength);
    out.set(head, 0);
    out.set(tail, head.byteLength);
    return out;
  } catch {
    throw new DecryptionError();
  } finally {
    // Unauthenticated plaintext from `update` must not linger (also on failure); a returned
    // buffer is the caller's to zero.
    zeroize(head, tail);
  }
}

/** `n` bytes from the operating system's CSPRNG, in a fresh (unpooled) `Uint8Array`. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError('randomBytes: n must be a non-negative integer');
  }
  return randomFillSync(new Uint8Array(n));
}
