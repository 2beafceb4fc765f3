/**
 * Named keys held inside Nexus (ours, not in SPIKE): signing keys and backup (decryption) keys
 * whose private halves never leave Nexus. This file holds their wire types, decoders, validators
 * and route specs; `route-table.ts` lists the specs with the others. See docs/keys.md and ADR 0039.
 *
 * Every route is `POST` under `/v1/keys`; authorization is by policy on the key's name, with the
 * permissions `write` (create, rotate, retire), `read` or `verify` (public keys), `sign`, `verify`
 * and `decrypt`, and `list` on `spike/system/keys` for the list.
 */
import { BadRequestError } from './api-error.ts';
import type { ErrorField } from './wire.ts';

export const URL_KEYS = '/v1/keys';
export const URL_KEYS_ROTATE = '/v1/keys/rotate';
export const URL_KEYS_RETIRE = '/v1/keys/retire';
export const URL_KEYS_SIGN = '/v1/keys/sign';
export const URL_KEYS_VERIFY = '/v1/keys/verify';
export const URL_KEYS_DECRYPT = '/v1/keys/decrypt';
/** The path `list` is checked on for the key list (a name, not a stored secret). */
export const SYSTEM_PATH_KEYS = 'spike/system/keys';

/** Algorithms of signing keys. */
export const SIGNING_ALGORITHMS = Object.freeze([
  'ed25519',
  'ecdsa-p256',
  'ecdsa-p384',
  'rsa-pss-3072',
  'rsa-pss-4096',
  'openpgp-ed25519',
] as const);
/** Algorithms of backup (decryption) keys. */
export const DECRYPTION_ALGORITHMS = Object.freeze([
  'rsa-oaep-3072',
  'rsa-oaep-4096',
  'openpgp-cv25519',
] as const);
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export type DecryptionAlgorithm = (typeof DECRYPTION_ALGORITHMS)[number];
export type KeyAlgorithm = SigningAlgorithm | DecryptionAlgorithm;
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = Object.freeze([
  ...SIGNING_ALGORITHMS,
  ...DECRYPTION_ALGORITHMS,
]);
export type KeyPurpose = 'sign' | 'decrypt';

export function purposeOf(algorithm: KeyAlgorithm): KeyPurpose {
  return (SIGNING_ALGORITHMS as readonly string[]).includes(algorithm) ? 'sign' : 'decrypt';
}
export function isOpenPgp(algorithm: KeyAlgorithm): boolean {
  return algorithm.startsWith('openpgp-');
}

export const MAX_KEY_NAME_LENGTH = 200;
/** Upper bound of an OpenPGP user ID given at creation. */
export const MAX_KEY_USER_ID_LENGTH = 200;
/** Upper bound of a signature or ciphertext field, in characters (the payload has its own limit). */
export const MAX_KEY_ARMOR_LENGTH = 16 * 1024 * 1024;

// --- wire types --------------------------------------------------------------------------------

export interface KeyCreateRequest {
  name: string;
  algorithm: string;
  /** OpenPGP only: the key's user ID, e.g. `Release signing <release@example.org>`. */
  userId?: string;
}
export interface KeyCreateResponse extends ErrorField {
  name: string;
  algorithm: string;
  version: number;
}
export interface KeyNameRequest {
  name: string;
}
export interface KeyRotateResponse extends ErrorField {
  version: number;
}
export interface KeyRetireRequest {
  name: string;
  versions: number[];
}
export type KeyRetireResponse = ErrorField;
export type KeyListRequest = Record<string, never>;
export interface KeyListEntry {
  name: string;
  algorithm: string;
  purpose: string;
  latestVersion: number;
}
export interface KeyListResponse extends ErrorField {
  keys: KeyListEntry[] | null;
}
export interface KeyVersionView {
  version: number;
  createdTime: string;
  /** null while the version is in use. */
  retiredTime: string | null;
  /** SPKI PEM; null for OpenPGP keys. */
  publicKeyPem: string | null;
  /** JWK of the public key; null for OpenPGP keys. */
  publicKeyJwk: Record<string, string> | null;
  /** ASCII-armored OpenPGP public key; null for the other algorithms. */
  publicKeyArmored: string | null;
  /** OpenPGP fingerprint (hex); null for the other algorithms. */
  fingerprint: string | null;
}
export interface KeyPublicResponse extends ErrorField {
  name: string;
  algorithm: string;
  purpose: string;
  /** True when a policy's approval rule gates signing or decrypting with this key (ADR 0042). */
  approvalRequired: boolean;
  versions: KeyVersionView[] | null;
}
export interface KeySignRequest {
  name: string;
  /** The bytes to sign, base64. */
  message: string;
}
export interface KeySignResponse extends ErrorField {
  version: number;
  /** base64 of the raw signature; for OpenPGP keys an armored detached signature. */
  signature: string;
}
export interface KeyVerifyRequest {
  name: string;
  message: string;
  signature: string;
}
export interface KeyVerifyResponse extends ErrorField {
  valid: boolean;
  /** The version whose public key verified it; 0 when none did. */
  version: number;
}
export interface KeyDecryptRequest {
  name: string;
  /** base64 of the ciphertext; for OpenPGP keys an armored message (or base64 of a binary one). */
  ciphertext: string;
}
export interface KeyDecryptResponse extends ErrorField {
  version: number;
  plaintext: string;
}

export interface DecodedKeySignRequest {
  name: string;
  message: Uint8Array;
}
export interface DecodedKeyVerifyRequest {
  name: string;
  message: Uint8Array;
  signature: string;
}

// --- decoding and validation -------------------------------------------------------------------

function fields(body: unknown): Record<string, unknown> {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new BadRequestError('body: must be a JSON object');
  return body as Record<string, unknown>;
}
function stringField(f: Record<string, unknown>, name: string, max: number): string {
  const v = Object.hasOwn(f, name) ? f[name] : undefined;
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new BadRequestError(`${name}: must be a string`);
  if (v.length > max) throw new BadRequestError(`${name}: longer than ${max} characters`);
  return v;
}
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
function base64Field(f: Record<string, unknown>, name: string): Uint8Array {
  const s = stringField(f, name, MAX_KEY_ARMOR_LENGTH);
  if (s.length % 4 !== 0 || !BASE64.test(s)) throw new BadRequestError(`${name}: must be standard base64`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
/** A key name: 1..200 of `A-Z a-z 0-9 . _ - /`, starting with a letter or digit, no `..` segment. */
export function validateKeyName(name: string): string {
  if (name.length === 0 || name.length > MAX_KEY_NAME_LENGTH || !KEY_NAME.test(name)) {
    throw new BadRequestError(
      `name: 1..${MAX_KEY_NAME_LENGTH} characters from A-Z a-z 0-9 . _ - /, starting with a letter or digit`,
    );
  }
  if (name.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new BadRequestError('name: no empty, "." or ".." segments');
  }
  return name;
}
export function validateKeyAlgorithm(algorithm: string): KeyAlgorithm {
  if (!(KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new BadRequestError(`algorithm: must be one of ${KEY_ALGORITHMS.join(', ')}`);
  }
  return algorithm as KeyAlgorithm;
}

export function decodeKeyCreateRequest(body: unknown): KeyCreateRequest {
  const f = fields(body);
  const userId = stringField(f, 'userId', MAX_KEY_USER_ID_LENGTH);
  return {
    name: stringField(f, 'name', MAX_KEY_NAME_LENGTH),
    algorithm: stringField(f, 'algorithm', 64),
    ...(userId === '' ? {} : { userId }),
  };
}
export function decodeKeyNameRequest(body: unknown): KeyNameRequest {
  return { name: stringField(fields(body), 'name', MAX_KEY_NAME_LENGTH) };
}
export function decodeKeyRetireRequest(body: unknown): KeyRetireRequest {
  const f = fields(body);
  const raw = f['versions'] ?? [];
  if (!Array.isArray(raw) || raw.length > 1000)
    throw new BadRequestError('versions: must be a list of at most 1000');
  const versions = raw.map((v: unknown) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw new BadRequestError('versions: each must be an integer ≥ 1');
    return v;
  });
  return { name: stringField(f, 'name', MAX_KEY_NAME_LENGTH), versions };
}
export function decodeKeyListRequest(body: unknown): KeyListRequest {
  fields(body);
  return {};
}
export function decodeKeySignRequest(body: unknown): DecodedKeySignRequest {
  const f = fields(body);
  return { name: stringField(f, 'name', MAX_KEY_NAME_LENGTH), message: base64Field(f, 'message') };
}
export function decodeKeyVerifyRequest(body: unknown): DecodedKeyVerifyRequest {
  const f = fields(body);
  return {
    name: stringField(f, 'name', MAX_KEY_NAME_LENGTH),
    message: base64Field(f, 'message'),
    signature: stringField(f, 'signature', MAX_KEY_ARMOR_LENGTH),
  };
}
export function decodeKeyDecryptRequest(body: unknown): KeyDecryptRequest {
  const f = fields(body);
  return {
    name: stringField(f, 'name', MAX_KEY_NAME_LENGTH),
    ciphertext: stringField(f, 'ciphertext', MAX_KEY_ARMOR_LENGTH),
  };
}
