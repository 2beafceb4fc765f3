/**
 * Structural validation and deep, frozen copies of the records that cross the store boundary.
 * Every backend copies what it is given and what it returns, so no caller (or mutator) can
 * change stored state through a reference it kept. The checks are structural only; versioning
 * rules live in core.
 */
import type { PolicyRecord, SecretMetadata, SecretRecord, SecretVersion } from '@spike-ts/core';
import { parseApprovalRule, PERMISSIONS } from '@spike-ts/protocol';
import type { ApprovalRule, Permission } from '@spike-ts/protocol';
import { InvalidRecordError } from './store-error.ts';

const NO_VERSIONS: ReadonlySet<SecretVersion> = new Set();

/** Upper bound for a secret path or policy name, in UTF-16 code units (defence in depth). */
export const MAX_NAME_LENGTH = 4096;

/** Checks a secret path or policy name: non-empty, well-formed Unicode, bounded. */
export function checkName(value: unknown, what: 'path' | 'policy name'): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidRecordError(`${what} must be a non-empty string`);
  if (value.length > MAX_NAME_LENGTH)
    throw new InvalidRecordError(`${what} is longer than ${MAX_NAME_LENGTH}`);
  // Lone surrogates would collapse to U+FFFD in UTF-8, making two names share one lookup key.
  if (!value.isWellFormed()) throw new InvalidRecordError(`${what} is not well-formed Unicode`);
  return value;
}

/** Checks a version number asked for in a read: a non-negative integer (0 = current). */
export function checkVersionNumber(value: unknown): number {
  return nonNegativeInteger(value, 'version');
}

/**
 * Validates `input` and returns a deep frozen copy. `path` is the path the record must carry.
 * Versions that are one of `stored` (the store's own frozen objects, handed to a mutator and
 * returned unchanged) are kept as they are instead of being copied.
 */
export function copySecretRecord(
  input: SecretRecord,
  path: string,
  stored: ReadonlySet<SecretVersion> = NO_VERSIONS,
): SecretRecord {
  if (typeof input !== 'object' || input === null)
    throw new InvalidRecordError('secret record must be an object');
  if (input.path !== path) throw new InvalidRecordError('secret record path does not match the updated path');
  const versionsIn: unknown = input.versions;
  if (!Array.isArray(versionsIn)) throw new InvalidRecordError('versions must be an array');
  const versions: SecretVersion[] = [];
  let previous = 0;
  for (const v of versionsIn as unknown[]) {
    const copy = stored.has(v as SecretVersion) ? (v as SecretVersion) : copySecretVersion(v);
    if (copy.version <= previous) throw new InvalidRecordError('versions must be strictly ascending');
    previous = copy.version;
    versions.push(copy);
  }
  return Object.freeze({
    path,
    versions: Object.freeze(versions),
    metadata: copyMetadata(input.metadata),
  });
}

export function copySecretVersion(input: unknown): SecretVersion {
  if (typeof input !== 'object' || input === null) throw new InvalidRecordError('version must be an object');
  const v = input as Record<string, unknown>;
  const deletedTime = v['deletedTime'];
  return Object.freeze({
    version: positiveInteger(v['version'], 'version'),
    data: copyData(v['data']),
    createdTime: time(v['createdTime'], 'createdTime'),
    deletedTime: deletedTime === null ? null : time(deletedTime, 'deletedTime'),
  });
}

export function copyMetadata(input: unknown): SecretMetadata {
  if (typeof input !== 'object' || input === null) throw new InvalidRecordError('metadata must be an object');
  const m = input as Record<string, unknown>;
  return Object.freeze({
    currentVersion: nonNegativeInteger(m['currentVersion'], 'currentVersion'),
    oldestVersion: nonNegativeInteger(m['oldestVersion'], 'oldestVersion'),
    createdTime: time(m['createdTime'], 'createdTime'),
    updatedTime: time(m['updatedTime'], 'updatedTime'),
    maxVersions: nonNegativeInteger(m['maxVersions'], 'maxVersions'),
  });
}

/** Copies a key/value map. Own enumerable keys only; every value must be a string. */
export function copyData(input: unknown): Readonly<Record<string, string>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRecordError('version data must be a key/value object');
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(input)) {
    if (typeof value !== 'string') throw new InvalidRecordError('version data values must be strings');
    entries.push([key, value]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays plain data.
  return Object.freeze(Object.fromEntries(entries));
}

/** Validates `input` and returns a deep frozen copy. */
export function copyPolicyRecord(input: PolicyRecord): PolicyRecord {
  if (typeof input !== 'object' || input === null) throw new InvalidRecordError('policy must be an object');
  const permissionsIn: unknown = input.permissions;
  if (!Array.isArray(permissionsIn)) throw new InvalidRecordError('permissions must be an array');
  const permissions: Permission[] = [];
  for (const p of permissionsIn as unknown[]) {
    if (!PERMISSIONS.includes(p as Permission)) throw new InvalidRecordError('unknown permission');
    permissions.push(p as Permission);
  }
  return Object.freeze({
    name: checkName(input.name, 'policy name'),
    spiffeIdPattern: text(input.spiffeIdPattern, 'spiffeIdPattern'),
    pathPattern: text(input.pathPattern, 'pathPattern'),
    permissions: Object.freeze(permissions),
    createdTime: time(input.createdTime, 'createdTime'),
    updatedTime: time(input.updatedTime, 'updatedTime'),
    // People fields (ADR 0036): optional, so rows stored before them load unchanged.
    ...optionalNames(input.people, 'people'),
    ...optionalNames(input.groups, 'groups'),
    ...(input.workloadsOnly === undefined
      ? {}
      : { workloadsOnly: flag(input.workloadsOnly, 'workloadsOnly') }),
    // Approval rule (ADR 0042): optional too; checked with the same rule Nexus and clients use.
    ...(input.approval === undefined ? {} : { approval: approvalRule(input.approval) }),
  });
}

function approvalRule(value: unknown): ApprovalRule {
  try {
    const rule = parseApprovalRule(value);
    return Object.freeze({
      ...rule,
      ...(rule.approverGroups === undefined ? {} : { approverGroups: Object.freeze(rule.approverGroups) }),
      ...(rule.approverPeople === undefined ? {} : { approverPeople: Object.freeze(rule.approverPeople) }),
      ...(rule.permissions === undefined ? {} : { permissions: Object.freeze(rule.permissions) }),
    }) as ApprovalRule;
  } catch (err) {
    throw new InvalidRecordError(`approval: ${err instanceof Error ? err.message : 'invalid'}`);
  }
}

function optionalNames(
  value: unknown,
  field: 'people' | 'groups',
): { people?: readonly string[]; groups?: readonly string[] } {
  if (value === undefined) return {};
  if (!Array.isArray(value)) throw new InvalidRecordError(`${field} must be an array`);
  const names: string[] = [];
  for (const v of value as unknown[]) names.push(text(v, field));
  return { [field]: Object.freeze(names) };
}

function flag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidRecordError(`${field} must be a boolean`);
  return value;
}

/** Sort order of listed policies: by name, ascending (UTF-16 code units, like `Array.sort`). */
export function comparePolicies(a: PolicyRecord, b: PolicyRecord): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Deep equality of two versions (used to skip rewriting unchanged version rows). */
export function sameVersion(a: SecretVersion, b: SecretVersion): boolean {
  if (a.version !== b.version || a.createdTime !== b.createdTime || a.deletedTime !== b.deletedTime)
    return false;
  const ak = Object.keys(a.data);
  if (ak.length !== Object.keys(b.data).length) return false;
  return ak.every((k) => Object.hasOwn(b.data, k) && a.data[k] === b.data[k]);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new InvalidRecordError(`${field} must be a string`);
  return value;
}

function time(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidRecordError(`${field} must be a finite number`);
  return value;
}

function nonNegativeInteger(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidRecordError(`${field} must be a non-negative integer`);
  }
  return value as number;
}

function positiveInteger(value: unknown, field: string): number {
  const n = nonNegativeInteger(value, field);
  if (n === 0) throw new InvalidRecordError(`${field} must be positive`);
  return n;
}
