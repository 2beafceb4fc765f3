/**
 * Type-level decoding of request bodies (the output of `parseJsonBody`), mirroring how SPIKE's Go
 * server unmarshals them with encoding/json:
 *
 * - unknown fields are ignored (SPIKE clients send extras such as `err`);
 * - a field name matches exactly or case-insensitively, and when several keys match the same
 *   field the last one wins (Go's rules);
 * - a missing field or JSON `null` is the Go zero value: `""`, `0`, an empty list/map, empty bytes,
 *   or `null` for a shard (Go's nil `*[32]byte`); `null` elements of lists/maps are zero values too;
 * - a top-level `null` is an empty request; any other non-object is rejected;
 * - `[]byte` fields are standard base64 (padding required, CR/LF ignored) and decode to bytes;
 * - a shard (`*[32]byte`) is an array of exactly 32 integers 0..255 (stricter than Go, which pads
 *   or truncates arrays of the wrong length: a wrong-length share is always a mistake).
 *
 * A wrong JSON type throws `BadRequestError` naming the field. Numbers must be safe integers
 * (`1.0` passes as 1: `JSON.parse` cannot tell it from `1`, where Go would refuse it); versions
 * must also be ≥ 0. The semantic rules (path characters, ranges, sizes) live in the
 * `validateX` functions of `validate.ts`, which the server runs after authorizing the caller.
 */
import { decodeApprovalRule } from './approval-rule.ts';
import { BadRequestError } from './api-error.ts';
import type {
  AuditListRequest,
  WhoamiRequest,
  PolicyListRequest,
  PolicyPutRequest,
  PolicyReadRequest,
  SecretDeleteRequest,
  SecretGetRequest,
  SecretListRequest,
  SecretMetadataRequest,
  SecretPutRequest,
} from './wire.ts';
import { SHARD_SIZE } from './wire.ts';

type Fields = ReadonlyMap<string, unknown>;

/** Go's field-name folding for the ASCII names used here (plus U+017F, which Go folds to `s`). */
function foldName(name: string): string {
  return name.toLowerCase().replaceAll('\u017f', 's');
}

function fieldsOf(body: unknown, what: string): Fields {
  const fields = new Map<string, unknown>();
  if (body === null || body === undefined) return fields;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError(`body: a ${what} must be a JSON object`);
  }
  for (const [key, value] of Object.entries(body as Record<string, unknown>))
    fields.set(foldName(key), value);
  return fields;
}

function get(fields: Fields, name: string): unknown {
  return fields.get(foldName(name));
}

function decodeString(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new BadRequestError(`${field}: must be a string`);
  return value;
}

function decodeInteger(value: unknown, field: string, min: number): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new BadRequestError(`${field}: must be an integer`);
  }
  if (value < min) throw new BadRequestError(`${field}: must be an integer >= ${min}`);
  return value === 0 ? 0 : value;
}

function decodeVersion(value: unknown, field: string): number {
  return decodeInteger(value, field, 0);
}

function decodeList(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadRequestError(`${field}: must be a list`);
  return value;
}

function decodeStringMap(value: unknown, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined || value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError(`${field}: must be an object of string values`);
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v !== 'string')
      throw new BadRequestError(`${field}: every value must be a string`);
    // A key such as `__proto__` stays an own data property (assignment would drop it).
    Object.defineProperty(out, key, { value: v ?? '', enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const BASE64_ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(value: unknown, field: string): Uint8Array {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (typeof value !== 'string') throw new BadRequestError(`${field}: must be a base64 string`);
  const s = value.includes('\r') || value.includes('\n') ? value.replace(/[\r\n]/g, '') : value;
  if (s.length % 4 !== 0 || !BASE64_ALPHABET.test(s)) {
    throw new BadRequestError(`${field}: must be standard base64 with padding`);
  }
  const buf = Buffer.from(s, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function decodeShard(value: unknown, field: string): Uint8Array | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new BadRequestError(`${field}: must be a list of ${SHARD_SIZE} integers`);
  if (value.length !== SHARD_SIZE)
    throw new BadRequestError(`${field}: must have exactly ${SHARD_SIZE} entries`);
  const shard = new Uint8Array(SHARD_SIZE);
  for (let i = 0; i < SHARD_SIZE; i++) {
    const b: unknown = value[i];
    if (b === null) continue;
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
      shard.fill(0);
      throw new BadRequestError(`${field}: every entry must be an integer 0..255`);
    }
    shard[i] = b;
  }
  return shard;
}

// --- secrets -----------------------------------------------------------------------------

export function decodeSecretPutRequest(body: unknown): SecretPutRequest {
  const f = fieldsOf(body, 'secret put request');
  return { path: decodeString(get(f, 'path'), 'path'), values: decodeStringMap(get(f, 'values'), 'values') };
}

export function decodeSecretGetRequest(body: unknown): Required<SecretGetRequest> {
  const f = fieldsOf(body, 'secret get request');
  return { path: decodeString(get(f, 'path'), 'path'), version: decodeVersion(get(f, 'version'), 'version') };
}

export function decodeSecretDeleteRequest(body: unknown): Required<SecretDeleteRequest> {
  const f = fieldsOf(body, 'secret delete request');
  const versions = decodeList(get(f, 'versions'), 'versions').map((v) => decodeVersion(v, 'versions'));
  return { path: decodeString(get(f, 'path'), 'path'), versions };
}

export const decodeSecretUndeleteRequest: (body: unknown) => Required<SecretDeleteRequest> =
  decodeSecretDeleteRequest;

export function decodeSecretListRequest(body: unknown): SecretListRequest {
  fieldsOf(body, 'secret list request');
  return {};
}

export function decodeSecretMetadataRequest(body: unknown): Required<SecretMetadataRequest> {
  const f = fieldsOf(body, 'secret metadata request');
  return { path: decodeString(get(f, 'path'), 'path'), version: decodeVersion(get(f, 'version'), 'version') };
}

// --- policies ----------------------------------------------------------------------------

/** A policy upsert whose permissions are not yet checked against the allowed set. */
export type DecodedPolicyPutRequest = Omit<PolicyPutRequest, 'permissions'> & { permissions: string[] };

export function decodePolicyPutRequest(body: unknown): DecodedPolicyPutRequest {
  const f = fieldsOf(body, 'policy put request');
  // Our additive people fields (ADR 0036) are present in the result only when sent.
  const people = get(f, 'people');
  const groups = get(f, 'groups');
  const workloadsOnly = decodeBoolean(get(f, 'workloadsOnly'), 'workloadsOnly');
  const approval = get(f, 'approval');
  return {
    name: decodeString(get(f, 'name'), 'name'),
    spiffeidPattern: decodeString(get(f, 'spiffeidPattern'), 'spiffeidPattern'),
    pathPattern: decodeString(get(f, 'pathPattern'), 'pathPattern'),
    permissions: decodeList(get(f, 'permissions'), 'permissions').map((p) => decodeString(p, 'permissions')),
    ...(people === undefined || people === null
      ? {}
      : { people: decodeList(people, 'people').map((p) => decodeString(p, 'people')) }),
    ...(groups === undefined || groups === null
      ? {}
      : { groups: decodeList(groups, 'groups').map((g) => decodeString(g, 'groups')) }),
    ...(workloadsOnly ? { workloadsOnly: true } : {}),
    // Ours (ADR 0042): the approval rule, its types here, its values after authorization.
    ...(approval === undefined || approval === null ? {} : { approval: decodeApprovalRule(approval) }),
  };
}

function decodeBoolean(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new BadRequestError(`${field}: must be true or false`);
  return value;
}

// --- people (ours) ---------------------------------------------------------------------------

export function decodeWhoamiRequest(body: unknown): WhoamiRequest {
  fieldsOf(body, 'whoami request');
  return {};
}

export function decodeAuditListRequest(body: unknown): Required<AuditListRequest> {
  const f = fieldsOf(body, 'audit list request');
  return {
    principal: decodeString(get(f, 'principal'), 'principal'),
    path: decodeString(get(f, 'path'), 'path'),
    decision: decodeString(get(f, 'decision'), 'decision'),
    from: decodeString(get(f, 'from'), 'from'),
    to: decodeString(get(f, 'to'), 'to'),
    limit: decodeInteger(get(f, 'limit'), 'limit', 0),
  };
}

export function decodePolicyReadRequest(body: unknown): PolicyReadRequest {
  const f = fieldsOf(body, 'policy request');
  return { id: decodeString(get(f, 'id'), 'id') };
}

export const decodePolicyDeleteRequest: (body: unknown) => PolicyReadRequest = decodePolicyReadRequest;

export function decodePolicyListRequest(body: unknown): Required<PolicyListRequest> {
  const f = fieldsOf(body, 'policy list request');
  return {
    spiffeidPattern: decodeString(get(f, 'spiffeidPattern'), 'spiffeidPattern'),
    pathPattern: decodeString(get(f, 'pathPattern'), 'pathPattern'),
  };
}

// --- cipher ------------------------------------------------------------------------------

/** `CipherEncryptRequest` with the base64 decoded. The plaintext is caller data: zero it after use. */
export interface DecodedCipherEncryptRequest {
  plaintext: Uint8Array;
  algorithm: string;
}

export function decodeCipherEncryptRequest(body: unknown): DecodedCipherEncryptRequest {
  const f = fieldsOf(body, 'encrypt request');
  return {
    plaintext: decodeBase64(get(f, 'plaintext'), 'plaintext'),
    algorithm: decodeString(get(f, 'algorithm'), 'algorithm'),
  };
}

/** `CipherDecryptRequest` with the base64 fields decoded. */
export interface DecodedCipherDecryptRequest {
  version: number;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  algorithm: string;
}

export function decodeCipherDecryptRequest(body: unknown): DecodedCipherDecryptRequest {
  const f = fieldsOf(body, 'decrypt request');
  return {
    version: decodeInteger(get(f, 'version'), 'version', 0),
    nonce: decodeBase64(get(f, 'nonce'), 'nonce'),
    ciphertext: decodeBase64(get(f, 'ciphertext'), 'ciphertext'),
    algorithm: decodeString(get(f, 'algorithm'), 'algorithm'),
  };
}

// --- operator / bootstrap / keeper -------------------------------------------------------

/** `RestoreRequest` with the shard as bytes (`null` when absent). Key material: zero after use. */
export interface DecodedRestoreRequest {
  id: number;
  shard: Uint8Array | null;
}

export function decodeRestoreRequest(body: unknown): DecodedRestoreRequest {
  const f = fieldsOf(body, 'restore request');
  const id = decodeInteger(get(f, 'id'), 'id', Number.MIN_SAFE_INTEGER);
  return { id, shard: decodeShard(get(f, 'shard'), 'shard') };
}

/** `BootstrapVerifyRequest` with the base64 fields decoded. */
export interface DecodedBootstrapVerifyRequest {
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

export function decodeBootstrapVerifyRequest(body: unknown): DecodedBootstrapVerifyRequest {
  const f = fieldsOf(body, 'bootstrap verify request');
  return {
    nonce: decodeBase64(get(f, 'nonce'), 'nonce'),
    ciphertext: decodeBase64(get(f, 'ciphertext'), 'ciphertext'),
  };
}

/** `ShardContributeRequest` with the shard as bytes (`null` when absent). Key material. */
export interface DecodedShardContributeRequest {
  shard: Uint8Array | null;
}

export function decodeShardContributeRequest(body: unknown): DecodedShardContributeRequest {
  const f = fieldsOf(body, 'shard contribute request');
  return { shard: decodeShard(get(f, 'shard'), 'shard') };
}

// --- damaged store rows (our addition) ---------------------------------------------------

/** `POST /v1/operator/damaged?action=delete` body: which damaged row to remove. */
export interface DamagedRowRemoveRequest {
  /** `policies`, `secrets` or `secret_versions` (checked by the route). */
  table: string;
  /** The row's lookup id, 64 lower-case hex digits (checked by the route). */
  id: string;
  /** `secret_versions` only: the version to remove (from 1); absent or 0 otherwise. */
  version?: number;
}

export function decodeDamagedRowListRequest(body: unknown): Record<string, never> {
  fieldsOf(body, 'damaged row list request');
  return {};
}

export function decodeDamagedRowRemoveRequest(body: unknown): DamagedRowRemoveRequest {
  const f = fieldsOf(body, 'damaged row remove request');
  return {
    table: decodeString(get(f, 'table'), 'table'),
    id: decodeString(get(f, 'id'), 'id'),
    version: decodeVersion(get(f, 'version'), 'version'),
  };
}
