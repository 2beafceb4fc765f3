/**
 * SPIKE 0.8.2's input rules (spike-sdk-go `validation`), implemented as character-class loops so
 * every check runs in linear time on caller-controlled input. Every validator returns its
 * (possibly narrowed) input or throws `BadRequestError` whose detail names the field and the
 * rule; the offending value is never echoed.
 *
 * All allowed characters are ASCII, so string length equals Go's byte length here.
 */
import { RE2JS } from 're2js';
import type {
  DecodedBootstrapVerifyRequest,
  DecodedCipherDecryptRequest,
  DecodedCipherEncryptRequest,
  DecodedPolicyPutRequest,
  DecodedRestoreRequest,
  DecodedShardContributeRequest,
} from './decode.ts';
import { BadRequestError } from './api-error.ts';
import { validateApprovalRule } from './approval-rule.ts';
import {
  AUDIT_DECISIONS,
  type ApprovalRule,
  type AuditListRequest,
  CIPHER_NONCE_SIZE,
  CIPHER_TAG_SIZE,
  CIPHER_VERSION,
  PERMISSIONS,
  SHARD_SIZE,
  type Permission,
  type PolicyPutRequest,
  type PolicyReadRequest,
  type SecretPutRequest,
} from './wire.ts';

export const MAX_SECRET_PATH_LENGTH = 500;
export const MAX_NAME_LENGTH = 250;
export const MAX_PATH_PATTERN_LENGTH = 500;
/** SPIKE has no limit here; ours matches the SPIFFE ID length limit (2048 bytes). */
export const MAX_SPIFFE_ID_PATTERN_LENGTH = 2048;
/** Upper bound on the `versions` list of delete/undelete (ours; SPIKE has none). */
export const MAX_VERSIONS_LIST_LENGTH = 1000;

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

function allIn(table: Uint8Array, s: string, from = 0, to = s.length): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || table[c] !== 1) return false;
  }
  return true;
}

/** `[a-zA-Z0-9._\-/()?+*|[\]{}\\]` */
const SECRET_PATH_CHARS = charTable(ALNUM + '._-/()?+*|[]{}\\');
/** `[a-zA-Z0-9._\-/^$()?+*|[\]{}\\]` */
const PATH_PATTERN_CHARS = charTable(ALNUM + '._-/^$()?+*|[]{}\\');
/** `[a-zA-Z0-9-_ ]` (secret key names and policy names) */
const NAME_CHARS = charTable(ALNUM + '-_ ');
/** Trust-domain part of a SPIFFE ID pattern: `[\\a-zA-Z0-9.\-*()+?\[\]]` */
const ID_DOMAIN_CHARS = charTable(ALNUM + '\\.-*()+?[]');
/** Path part of a SPIFFE ID pattern: `[\\/a-zA-Z0-9._\-*()+?\[\]]` */
const ID_PATH_CHARS = charTable(ALNUM + '\\/._-*()+?[]');

const SECRET_PATH_RULE = `1..${MAX_SECRET_PATH_LENGTH} characters from a-z A-Z 0-9 . _ - / ( ) ? + * | [ ] { } \\`;
const NAME_RULE = `1..${MAX_NAME_LENGTH} characters from a-z A-Z 0-9 - _ and space`;
const PATH_PATTERN_RULE = `1..${MAX_PATH_PATTERN_LENGTH} characters from a-z A-Z 0-9 . _ - / ^ $ ( ) ? + * | [ ] { } \\`;

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new BadRequestError(`${field}: must be a string`);
  return value;
}

function checkChars(value: unknown, field: string, max: number, table: Uint8Array, rule: string): string {
  const s = requireString(value, field);
  if (s.length === 0 || s.length > max || !allIn(table, s))
    throw new BadRequestError(`${field}: must be ${rule}`);
  return s;
}

export function isValidSecretPath(path: string): boolean {
  return path.length > 0 && path.length <= MAX_SECRET_PATH_LENGTH && allIn(SECRET_PATH_CHARS, path);
}

/** Secret path: `^[a-zA-Z0-9._\-/()?+*|[\]{}\\]+$`, 1..500 characters. */
export function validateSecretPath(path: unknown, field = 'path'): string {
  return checkChars(path, field, MAX_SECRET_PATH_LENGTH, SECRET_PATH_CHARS, SECRET_PATH_RULE);
}

/** Key name inside a secret's `values`: `^[a-zA-Z0-9-_ ]+$`, 1..250 characters. */
export function validateSecretKeyName(name: unknown, field = 'values'): string {
  return checkChars(name, `${field} key`, MAX_NAME_LENGTH, NAME_CHARS, NAME_RULE);
}

/** Every key of a secret's `values` map (values themselves are free-form strings). */
export function validateSecretValues(
  values: Readonly<Record<string, string>>,
  field = 'values',
): Readonly<Record<string, string>> {
  for (const key of Object.keys(values)) {
    validateSecretKeyName(key, field);
    if (typeof values[key] !== 'string') throw new BadRequestError(`${field}: every value must be a string`);
  }
  return values;
}

/** Policy name: `^[a-zA-Z0-9-_ ]+$`, 1..250 characters. */
export function validatePolicyName(name: unknown, field = 'name'): string {
  return checkChars(name, field, MAX_NAME_LENGTH, NAME_CHARS, NAME_RULE);
}

/**
 * Linear check of SPIKE's SPIFFE ID pattern shape:
 * `^\^?spiffe://[\\a-zA-Z0-9.\-*()+?\[\]]+(/[\\/a-zA-Z0-9._\-*()+?\[\]]+)*\$?$`.
 * `^` and `$` are in neither class, so the optional anchors are unambiguous; the domain class has
 * no `/`, so the domain ends at the first `/`; the repeated group is equivalent to "empty, or a
 * `/` followed by at least one path-class character" because the path class contains `/`.
 */
export function isSpiffeIdPatternShape(pattern: string): boolean {
  let start = 0;
  let end = pattern.length;
  if (pattern.charCodeAt(0) === 0x5e /* ^ */) start = 1;
  if (end > start && pattern.charCodeAt(end - 1) === 0x24 /* $ */) end--;
  const scheme = 'spiffe://';
  if (!pattern.startsWith(scheme, start)) return false;
  let i = start + scheme.length;
  const domainStart = i;
  while (i < end) {
    const c = pattern.charCodeAt(i);
    if (c >= 128 || ID_DOMAIN_CHARS[c] !== 1) break;
    i++;
  }
  if (i === domainStart) return false;
  if (i === end) return true;
  if (pattern.charCodeAt(i) !== 0x2f /* / */ || end - i < 2) return false;
  return allIn(ID_PATH_CHARS, pattern, i + 1, end);
}

function checkCompiles(pattern: string, field: string): void {
  try {
    RE2JS.compile(pattern);
  } catch {
    throw new BadRequestError(`${field}: not a valid RE2 regular expression`);
  }
}

/** SPIFFE ID pattern: SPIKE's shape rule, then it must compile as an RE2 regular expression. */
export function validateSpiffeIdPattern(pattern: unknown, field = 'spiffeidPattern'): string {
  const s = requireString(pattern, field);
  if (s.length > MAX_SPIFFE_ID_PATTERN_LENGTH) {
    throw new BadRequestError(`${field}: longer than ${MAX_SPIFFE_ID_PATTERN_LENGTH} characters`);
  }
  if (!isSpiffeIdPatternShape(s)) {
    throw new BadRequestError(
      `${field}: must be "spiffe://<trust domain>[/<path>]" (optionally starting with ^ and ending with $) ` +
        'using only a-z A-Z 0-9 . - _ * ( ) + ? [ ] \\ and /',
    );
  }
  checkCompiles(s, field);
  return s;
}

/** Path pattern: SPIKE's character rule and length, then it must compile as RE2. */
export function validatePathPattern(pattern: unknown, field = 'pathPattern'): string {
  const s = checkChars(pattern, field, MAX_PATH_PATTERN_LENGTH, PATH_PATTERN_CHARS, PATH_PATTERN_RULE);
  checkCompiles(s, field);
  return s;
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}

/** Non-empty list, each one of read, write, list, execute, super. Duplicates are kept as given. */
export function validatePermissions(permissions: unknown, field = 'permissions'): Permission[] {
  if (!Array.isArray(permissions)) throw new BadRequestError(`${field}: must be a list`);
  if (permissions.length === 0) throw new BadRequestError(`${field}: must not be empty`);
  if (permissions.length > 64) throw new BadRequestError(`${field}: too many entries`);
  const out: Permission[] = [];
  for (const p of permissions) {
    if (!isPermission(p))
      throw new BadRequestError(`${field}: each must be one of ${PERMISSIONS.join(', ')}`);
    out.push(p);
  }
  return out;
}

/** A version number: a safe integer ≥ 0 (0 means "current"). */
export function validateVersion(version: unknown, field = 'version'): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new BadRequestError(`${field}: must be an integer >= 0`);
  }
  return version === 0 ? 0 : version; // folds -0 into 0
}

/** A list of version numbers, at most 1000 entries. */
export function validateVersions(versions: unknown, field = 'versions'): number[] {
  if (!Array.isArray(versions)) throw new BadRequestError(`${field}: must be a list`);
  if (versions.length > MAX_VERSIONS_LIST_LENGTH) {
    throw new BadRequestError(`${field}: at most ${MAX_VERSIONS_LIST_LENGTH} entries`);
  }
  return versions.map((v) => validateVersion(v, field));
}

// --- whole requests: run after decoding AND after authorizing the caller ------------------

/** `SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE` default. */
export const DEFAULT_CIPHER_MAX_SIZE = 65536;
/** `SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT` default: highest accepted share id. */
export const DEFAULT_MAX_SHARE_COUNT = 1000;

export function validateSecretPutRequest(req: SecretPutRequest): SecretPutRequest {
  validateSecretPath(req.path);
  validateSecretValues(req.values);
  return req;
}

/** Get and metadata requests: `{ path, version }`. */
export function validateSecretGetRequest<T extends { path: string; version: number }>(req: T): T {
  validateSecretPath(req.path);
  validateVersion(req.version);
  return req;
}

export const validateSecretMetadataRequest: typeof validateSecretGetRequest = validateSecretGetRequest;

/** Delete and undelete requests: `{ path, versions }`. */
export function validateSecretDeleteRequest<T extends { path: string; versions: number[] }>(req: T): T {
  validateSecretPath(req.path);
  validateVersions(req.versions);
  return req;
}

export const validateSecretUndeleteRequest: typeof validateSecretDeleteRequest = validateSecretDeleteRequest;

export function validatePolicyPutRequest(req: DecodedPolicyPutRequest): PolicyPutRequest {
  const people = validatePolicyPeople(req);
  return {
    name: validatePolicyName(req.name),
    spiffeidPattern: validatePolicySpiffeIdPattern(req.spiffeidPattern, people),
    pathPattern: validatePathPattern(req.pathPattern),
    permissions: validatePermissions(req.permissions),
    ...people,
  };
}

/**
 * Ours (ADR 0042): a policy's approval rule, when it has one. A policy with a rule may name no
 * caller at all (empty SPIFFE ID pattern, no people or groups): it then only marks its paths.
 */
export function validatePolicyApproval(approval: ApprovalRule | undefined): { approval?: ApprovalRule } {
  return approval === undefined ? {} : { approval: validateApprovalRule(approval) };
}

/** Most people or groups one policy names. */
export const MAX_POLICY_PEOPLE = 256;
/** Longest principal (`user:<name>`) or group name a policy holds. */
export const MAX_PRINCIPAL_LENGTH = 256;

/** The people fields of a policy (ADR 0036), present only when set. */
export interface PolicyPeopleFields {
  people?: string[];
  groups?: string[];
  workloadsOnly?: boolean;
  /** Ours (ADR 0042): with an approval rule the policy may name nobody (a path marker only). */
  approval?: ApprovalRule;
}

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function validateNames(
  values: readonly string[],
  field: string,
  check: (v: string) => boolean,
  rule: string,
): string[] {
  if (values.length > MAX_POLICY_PEOPLE)
    throw new BadRequestError(`${field}: at most ${MAX_POLICY_PEOPLE} entries`);
  for (const v of values) {
    if (
      v.length === 0 ||
      v.length > MAX_PRINCIPAL_LENGTH ||
      hasControl(v) ||
      !v.isWellFormed() ||
      !check(v)
    ) {
      throw new BadRequestError(
        `${field}: ${rule}, 1..${MAX_PRINCIPAL_LENGTH} characters without control characters`,
      );
    }
  }
  return [...values];
}

/** `people` (each `user:<name>`), `groups` and `workloadsOnly`, which names nobody. */
export function validatePolicyPeople(req: PolicyPeopleFields): PolicyPeopleFields {
  const people =
    req.people === undefined
      ? undefined
      : validateNames(
          req.people,
          'people',
          (v) => v.startsWith('user:') && v.length > 5,
          'each entry is user:<name>',
        );
  const groups =
    req.groups === undefined
      ? undefined
      : validateNames(req.groups, 'groups', () => true, 'each entry is a group name');
  const namesPeople = (people?.length ?? 0) > 0 || (groups?.length ?? 0) > 0;
  if (req.workloadsOnly === true && namesPeople) {
    throw new BadRequestError('workloadsOnly: a workloads-only policy must not name people or groups');
  }
  return {
    ...(people === undefined || people.length === 0 ? {} : { people }),
    ...(groups === undefined || groups.length === 0 ? {} : { groups }),
    ...(req.workloadsOnly === true ? { workloadsOnly: true } : {}),
    ...validatePolicyApproval(req.approval),
  };
}

/** The SPIFFE ID pattern of a policy: empty only when it names people or groups (no workload then). */
export function validatePolicySpiffeIdPattern(pattern: string, people: PolicyPeopleFields): string {
  if (
    pattern === '' &&
    (people.people !== undefined || people.groups !== undefined || people.approval !== undefined)
  )
    return '';
  return validateSpiffeIdPattern(pattern);
}

export const AUDIT_LIST_DEFAULT_LIMIT = 100;
export const AUDIT_LIST_MAX_LIMIT = 1000;

/** Audit query filters: known decision, RFC 3339 times, a bounded limit (0 = the default). */
export function validateAuditListRequest(req: Required<AuditListRequest>): Required<AuditListRequest> {
  if (req.principal.length > MAX_SPIFFE_ID_PATTERN_LENGTH) throw new BadRequestError('principal: too long');
  if (req.path.length > MAX_SECRET_PATH_LENGTH) throw new BadRequestError('path: too long');
  if (req.decision !== '' && !(AUDIT_DECISIONS as readonly string[]).includes(req.decision)) {
    throw new BadRequestError(`decision: must be one of ${AUDIT_DECISIONS.join(', ')}`);
  }
  for (const field of ['from', 'to'] as const) {
    const value = req[field];
    if (value !== '' && (value.length > 64 || !RFC3339.test(value) || Number.isNaN(Date.parse(value)))) {
      throw new BadRequestError(`${field}: must be an RFC 3339 time such as 2026-01-31T12:00:00Z`);
    }
  }
  if (req.limit > AUDIT_LIST_MAX_LIMIT) throw new BadRequestError(`limit: at most ${AUDIT_LIST_MAX_LIMIT}`);
  return { ...req, limit: req.limit === 0 ? AUDIT_LIST_DEFAULT_LIMIT : req.limit };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Policy get/delete: `id` carries the policy name and follows the name rule. */
export function validatePolicyReadRequest(req: PolicyReadRequest): PolicyReadRequest {
  validatePolicyName(req.id, 'id');
  return req;
}

export const validatePolicyDeleteRequest: typeof validatePolicyReadRequest = validatePolicyReadRequest;

/** SPIKE applies its ciphertext limit to the plaintext; so do we. */
export function validateCipherEncryptRequest(
  req: DecodedCipherEncryptRequest,
  maxSize: number = DEFAULT_CIPHER_MAX_SIZE,
): DecodedCipherEncryptRequest {
  if (req.plaintext.length > maxSize) throw new BadRequestError(`plaintext: larger than ${maxSize} bytes`);
  return req;
}

/**
 * Version must be 1 and the nonce 12 bytes. The ciphertext may be `maxSize` plus the 16-byte tag,
 * so that everything the encrypt route accepts can be decrypted again (SPIKE forgets the tag).
 */
export function validateCipherDecryptRequest(
  req: DecodedCipherDecryptRequest,
  maxSize: number = DEFAULT_CIPHER_MAX_SIZE,
): DecodedCipherDecryptRequest {
  if (req.version !== CIPHER_VERSION) throw new BadRequestError(`version: must be ${CIPHER_VERSION}`);
  if (req.nonce.length !== CIPHER_NONCE_SIZE) {
    throw new BadRequestError(`nonce: must be ${CIPHER_NONCE_SIZE} bytes`);
  }
  if (req.ciphertext.length > maxSize + CIPHER_TAG_SIZE) {
    throw new BadRequestError(`ciphertext: larger than ${maxSize + CIPHER_TAG_SIZE} bytes`);
  }
  return req;
}

export function validateBootstrapVerifyRequest(
  req: DecodedBootstrapVerifyRequest,
  maxSize: number = DEFAULT_CIPHER_MAX_SIZE,
): DecodedBootstrapVerifyRequest {
  if (req.nonce.length !== CIPHER_NONCE_SIZE) {
    throw new BadRequestError(`nonce: must be ${CIPHER_NONCE_SIZE} bytes`);
  }
  if (req.ciphertext.length === 0) throw new BadRequestError('ciphertext: must not be empty');
  if (req.ciphertext.length > maxSize + CIPHER_TAG_SIZE) {
    throw new BadRequestError(`ciphertext: larger than ${maxSize + CIPHER_TAG_SIZE} bytes`);
  }
  return req;
}

/** Whether every byte is zero, without an early exit. */
function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i] ?? 0;
  return acc === 0;
}

function requireShard(shard: Uint8Array | null): Uint8Array {
  if (shard === null) throw new BadRequestError('shard: missing');
  if (shard.length !== SHARD_SIZE) throw new BadRequestError(`shard: must be ${SHARD_SIZE} bytes`);
  if (isAllZero(shard)) throw new BadRequestError('shard: must not be all zeros');
  return shard;
}

/** Share id 1..maxShareCount (SPIKE's rule) and a present, non-zero 32-byte shard. */
export function validateRestoreRequest(
  req: DecodedRestoreRequest,
  maxShareCount: number = DEFAULT_MAX_SHARE_COUNT,
): { id: number; shard: Uint8Array } {
  if (!Number.isSafeInteger(req.id) || req.id < 1 || req.id > maxShareCount) {
    throw new BadRequestError(`id: must be an integer 1..${maxShareCount}`);
  }
  return { id: req.id, shard: requireShard(req.shard) };
}

/** A present, non-zero 32-byte shard (SPIKE: `shamir_nil_shard` / `shamir_empty_shard`, both 400). */
export function validateShardContributeRequest(req: DecodedShardContributeRequest): { shard: Uint8Array } {
  return { shard: requireShard(req.shard) };
}
