/**
 * The versioned at-rest envelope:
 *
 *   version (1) ‖ keyId (4, big-endian uint32) ‖ nonce (12) ‖ ciphertext ‖ tag (16)
 *
 * AES-256-GCM with a fresh random nonce per seal. The GCM associated data is
 * `version ‖ keyId ‖ aad`: the header has a fixed length, so the concatenation is unambiguous,
 * and the key id is covered by the tag (editing it is detected, not just a lookup miss). The
 * caller's `aad` binds the ciphertext to its place (table, path, version), so a row copied to
 * another place fails to open; build it with `associatedData(...)`.
 */
import { aesGcmDecrypt, aesGcmEncrypt, GCM_NONCE_BYTES, GCM_TAG_BYTES, randomBytes } from './aead.ts';
import type { AesKey } from './aead.ts';
import { DecryptionError } from './decryption-error.ts';

export { DecryptionError } from './decryption-error.ts';

export const ENVELOPE_VERSION = 1;

const HEADER_BYTES = 1 + 4;
const MIN_ENVELOPE_BYTES = HEADER_BYTES + GCM_NONCE_BYTES + GCM_TAG_BYTES;
const MAX_KEY_ID = 0xffff_ffff;

function header(keyId: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  out[0] = ENVELOPE_VERSION;
  new DataView(out.buffer).setUint32(1, keyId, false);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/** Seal `plaintext` under `key` (32 bytes), tagging it with `keyId` (uint32) and bound to `aad`. */
export function sealEnvelope(key: AesKey, keyId: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > MAX_KEY_ID) {
    throw new RangeError('envelope key id must be an integer in 0..2^32-1');
  }
  const head = header(keyId);
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const sealed = aesGcmEncrypt(key, nonce, plaintext, concat(head, aad));
  const out = new Uint8Array(HEADER_BYTES + GCM_NONCE_BYTES + sealed.byteLength);
  out.set(head, 0);
  out.set(nonce, HEADER_BYTES);
  out.set(sealed, HEADER_BYTES + GCM_NONCE_BYTES);
  return out;
}

function checkShape(envelope: Uint8Array): void {
  if (
    !(envelope instanceof Uint8Array) ||
    envelope.byteLength < MIN_ENVELOPE_BYTES ||
    envelope[0] !== ENVELOPE_VERSION
  ) {
    throw new DecryptionError();
  }
}

/**
 * Open an envelope sealed by `sealEnvelope`. Every failure (wrong key, unknown version, any
 * modified byte, different `aad`, truncated input) throws the same `DecryptionError`.
 */
export function openEnvelope(key: AesKey, envelope: Uint8Array, aad: Uint8Array): Uint8Array {
  checkShape(envelope);
  const head = envelope.subarray(0, HEADER_BYTES);
  const nonce = envelope.subarray(HEADER_BYTES, HEADER_BYTES + GCM_NONCE_BYTES);
  const sealed = envelope.subarray(HEADER_BYTES + GCM_NONCE_BYTES);
  return aesGcmDecrypt(key, nonce, sealed, concat(head, aad));
}

/**
 * The key id an envelope claims, to pick the key to open it with. Not authenticated until
 * `openEnvelope` succeeds. Throws `DecryptionError` if the envelope is malformed.
 */
export function envelopeKeyId(envelope: Uint8Array): number {
  checkShape(envelope);
  return new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength).getUint32(1, false);
}

const encoder = new TextEncoder();

/**
 * Build associated data from parts without ambiguity: each part is written as a 4-byte
 * big-endian length followed by its bytes (strings as UTF-8), so `('ab', 'c')` and `('a', 'bc')`
 * differ. Example: `associatedData('secret-version', path, String(version))`.
 */
export function associatedData(...parts: (string | Uint8Array)[]): Uint8Array {
  const encoded = parts.map((part) => (typeof part === 'string' ? encoder.encode(part) : part));
  const total = encoded.reduce((sum, part) => sum + 4 + part.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of encoded) {
    view.setUint32(offset, part.byteLength, false);
    out.set(part, offset + 4);
    offset += 4 + part.byteLength;
  }
  return out;
}
