/**
 * SHA-256, HMAC-SHA256 and random request ids for the packages above core, so that they need
 * no `node:crypto` of their own (only this module and identity's X.509 code import it).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { AesKey } from './aead.ts';

/** Lowercase hex SHA-256 of `data` (a string is hashed as its UTF-8 bytes). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * HMAC-SHA256 under `key` (raw bytes or a `KeyObject` from `aesKeyObject`) over the
 * concatenation of `parts` (strings as UTF-8). The caller frames the parts unambiguously.
 */
export function hmacSha256(key: AesKey, parts: readonly (string | Uint8Array)[]): Uint8Array {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** A random (version 4) UUID, for request ids. */
export function randomUuid(): string {
  return randomUUID();
}
