/**
 * The one error every decryption failure turns into. It never carries the cause, the key id or
 * any byte of the input, so a caller cannot learn *why* a ciphertext was rejected (wrong key,
 * tampered header, nonce, ciphertext, tag or associated data, or truncated input all look the same).
 */
export class DecryptionError extends Error {
  override readonly name = 'DecryptionError';
  constructor() {
    super('decryption failed');
  }
}
