/**
 * Shared pieces of the cipher (encryption-as-a-service) routes, SPIKE §3.4. Keys: the CIPHER
 * purpose key derived from the root key, never the storage key. Stream framing:
 * `0x01 ‖ nonce(12) ‖ ciphertext‖tag(16)`.
 */
import type { IncomingMessage } from 'node:http';
import {
  CIPHER_NONCE_SIZE,
  CIPHER_TAG_SIZE,
  CIPHER_VERSION,
  CONTENT_TYPE_OCTET_STREAM,
} from '@spike-ts/protocol';

export { CIPHER_NONCE_SIZE, CIPHER_TAG_SIZE, CIPHER_VERSION };

/** Stream mode only when Content-Type is exactly `application/octet-stream` (as SPIKE checks). */
export function isStreamMode(req: IncomingMessage): boolean {
  return req.headers['content-type'] === CONTENT_TYPE_OCTET_STREAM;
}

/** Largest ciphertext accepted: the configured size plus the GCM tag, so a maximal plaintext round-trips. */
export function maxCiphertextSize(maxCipherSize: number): number {
  return maxCipherSize + CIPHER_TAG_SIZE;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
