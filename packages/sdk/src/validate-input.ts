/**
 * @module validate-input
 * Client-side checks with the protocol's validators, so a bad argument fails fast with a message
 * naming it (`SpikeBadRequestError`, status 0, `argument` set) instead of a bare 400 from Nexus.
 * Messages come from the protocol validators, which never echo the value.
 */
import {
  BadRequestError,
  CIPHER_NONCE_SIZE,
  SHARD_SIZE,
  validatePathPattern,
  validatePermissions,
  validatePolicyName,
  parseApprovalRule,
  validatePolicyPeople,
  validateSecretValues,
  validateSpiffeIdPattern,
  validateVersion,
  validateVersions,
  normalizeSecretPath,
} from '@spike-ts/protocol';
import { SpikeBadRequestError } from './spike-error.ts';
import type { EncryptedData, PolicyInput } from './types.ts';

/** Largest plaintext/framed body the SDK will send (the server applies its own, lower limit). */
export const MAX_CIPHER_INPUT_BYTES = 16 * 1024 * 1024;
/** Largest share index accepted by `restore` (SPIKE's `SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT` default). */
export const MAX_SHARE_ID = 1000;

function run<T>(argument: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof BadRequestError) throw new SpikeBadRequestError(err.detail, 0, argument);
    throw err;
  }
}

/** Paths are normalized (trimmed, `//` collapsed, outer `/` removed) before validation. */
export function checkSecretPath(path: string): string {
  if (typeof path !== 'string') throw new SpikeBadRequestError('path: must be a string', 0, 'path');
  return run('path', () => normalizeSecretPath(path));
}

export function checkSecretValues(values: Readonly<Record<string, string>>): Record<string, string> {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new SpikeBadRequestError('values: must be an object of string values', 0, 'values');
  }
  return { ...run('values', () => validateSecretValues(values, 'values')) };
}

/** `undefined` stays absent on the wire, which Nexus reads as 0 = current. */
export function checkVersion(version: number | undefined): number | undefined {
  return version === undefined ? undefined : run('version', () => validateVersion(version, 'version'));
}

export function checkVersions(versions: readonly number[] | undefined): number[] {
  return versions === undefined ? [] : run('versions', () => validateVersions([...versions], 'versions'));
}

export function checkPolicyName(name: string): string {
  return run('name', () => validatePolicyName(name, 'name'));
}

export function checkPolicyInput(policy: PolicyInput): PolicyInput {
  // The people fields (ADR 0036): shape here, then Nexus's own rules with their messages
  // (`user:<name>`, no empty group, workloadsOnly names nobody). Empty lists are dropped.
  const people = run('people', () =>
    validatePolicyPeople({
      ...(policy.people === undefined ? {} : { people: checkStringList(policy.people, 'people') }),
      ...(policy.groups === undefined ? {} : { groups: checkStringList(policy.groups, 'groups') }),
      ...(policy.workloadsOnly === undefined ? {} : { workloadsOnly: checkFlag(policy.workloadsOnly) }),
    }),
  );
  // The approval rule (ADR 0042): the same rule Nexus applies; a rule lets the policy name nobody.
  const approval =
    policy.approval === undefined ? undefined : run('approval', () => parseApprovalRule(policy.approval));
  const marker = approval !== undefined;
  return {
    name: checkPolicyName(policy.name),
    // Empty only when the policy names people or groups: it then grants no workload.
    spiffeIdPattern: run('spiffeIdPattern', () =>
      policy.spiffeIdPattern === '' && (people.people !== undefined || people.groups !== undefined || marker)
        ? ''
        : validateSpiffeIdPattern(policy.spiffeIdPattern, 'spiffeIdPattern'),
    ),
    pathPattern: run('pathPattern', () => validatePathPattern(policy.pathPattern, 'pathPattern')),
    permissions: run('permissions', () => validatePermissions([...policy.permissions], 'permissions')),
    ...people,
    ...(approval === undefined ? {} : { approval }),
  };
}

function checkStringList(list: readonly string[], argument: string): string[] {
  if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
    throw new SpikeBadRequestError(`${argument}: must be a list of strings`, 0, argument);
  }
  return [...list];
}

function checkFlag(flag: boolean): boolean {
  if (typeof flag !== 'boolean') {
    throw new SpikeBadRequestError('workloadsOnly: must be true or false', 0, 'workloadsOnly');
  }
  return flag;
}

export function checkPlaintext(bytes: Uint8Array, argument = 'plaintext'): Uint8Array {
  if (!(bytes instanceof Uint8Array))
    throw new SpikeBadRequestError(`${argument}: must be bytes`, 0, argument);
  if (bytes.byteLength > MAX_CIPHER_INPUT_BYTES) {
    throw new SpikeBadRequestError(`${argument}: larger than ${MAX_CIPHER_INPUT_BYTES} bytes`, 0, argument);
  }
  return bytes;
}

export function checkCipherInput(data: EncryptedData): EncryptedData {
  if (!Number.isInteger(data.version) || data.version < 0 || data.version > 255) {
    throw new SpikeBadRequestError('version: must be an integer 0..255', 0, 'version');
  }
  if (!(data.nonce instanceof Uint8Array) || data.nonce.byteLength !== CIPHER_NONCE_SIZE) {
    throw new SpikeBadRequestError(`nonce: must be exactly ${CIPHER_NONCE_SIZE} bytes`, 0, 'nonce');
  }
  checkPlaintext(data.ciphertext, 'ciphertext');
  return data;
}

export function checkShard(id: number, shard: Uint8Array): { id: number; shard: Uint8Array } {
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_SHARE_ID) {
    throw new SpikeBadRequestError(`id: must be an integer 1..${MAX_SHARE_ID}`, 0, 'id');
  }
  if (!(shard instanceof Uint8Array) || shard.byteLength !== SHARD_SIZE) {
    throw new SpikeBadRequestError(`shard: must be exactly ${SHARD_SIZE} bytes`, 0, 'shard');
  }
  if (shard.every((b) => b === 0)) throw new SpikeBadRequestError('shard: must not be all zeros', 0, 'shard');
  return { id, shard };
}

/**
 * A damaged row's place as `listDamagedRows` gives it: `policies`/`secrets`/`secret_versions`,
 * 64 hex digits and, for `secret_versions` only, the version (a whole number from 1).
 */
export function checkDamagedRow(
  table: unknown,
  id: unknown,
  version?: unknown,
): { table: 'policies' | 'secrets' | 'secret_versions'; id: string; version?: number } {
  if (table !== 'policies' && table !== 'secrets' && table !== 'secret_versions') {
    throw new SpikeBadRequestError("table: must be 'policies', 'secrets' or 'secret_versions'", 0, 'table');
  }
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) {
    throw new SpikeBadRequestError('id: must be 64 lower-case hex digits', 0, 'id');
  }
  if (table !== 'secret_versions') {
    if (version !== undefined) {
      throw new SpikeBadRequestError(`version: a ${table} row has no version`, 0, 'version');
    }
    return { table, id };
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new SpikeBadRequestError('version: a secret_versions row needs its version (from 1)', 0, 'version');
  }
  return { table, id, version };
}
