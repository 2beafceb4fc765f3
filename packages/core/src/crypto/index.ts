export { ENVELOPE_VERSION, sealEnvelope, openEnvelope, envelopeKeyId, associatedData } from './envelope.ts';
export { DecryptionError } from './decryption-error.ts';
export {
  aesGcmEncrypt,
  aesGcmDecrypt,
  aesKeyObject,
  randomBytes,
  AES_KEY_BYTES,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
} from './aead.ts';
export type { AesKey, AesKeyObject } from './aead.ts';
export { derivePurposeKey, PURPOSE_KEY_BYTES } from './kdf.ts';
export type { KeyPurpose } from './kdf.ts';
export { constantTimeEqual } from './compare.ts';
export { sha256Hex, hmacSha256, randomUuid } from './digest.ts';
export { zeroize } from './zeroize.ts';
export {
  splitRootKey,
  combineShares,
  validateShare,
  shardToJson,
  shardFromJson,
  generateRootKey,
  isValidRootKey,
  ShamirError,
  MAX_SHARES,
} from './shamir.ts';
export type { Share, ShamirErrorCode } from './shamir.ts';
export { P256_ORDER } from './scalar-field.ts';
export { computeKeyCheckValue, verifyKeyCheckValue, KEY_CHECK_VALUE_BYTES } from './key-check.ts';
