/**
 * The `approval` field of a policy (ours, ADR 0042): its JSON decoding (types, unknown fields
 * refused) and its value rules. Nexus, the SDK and the CLI all check a rule with
 * `parseApprovalRule`, so a rule one of them accepts is accepted by the others.
 */
import { BadRequestError } from './api-error.ts';
import type { ApprovalRule, Permission } from './wire.ts';

/** Most approvals a rule may require (M). */
export const APPROVAL_MAX_REQUIRED = 9;
/** Most groups, and most people, one rule names. */
export const APPROVAL_MAX_APPROVERS = 64;
/** Longest group name or principal a rule names. */
export const APPROVAL_MAX_NAME_LENGTH = 256;
export const APPROVAL_DEFAULT_GRANT_TTL_SECONDS = 900;
export const APPROVAL_MAX_GRANT_TTL_SECONDS = 86_400;
export const APPROVAL_DEFAULT_REQUEST_TTL_SECONDS = 86_400;
export const APPROVAL_MAX_REQUEST_TTL_SECONDS = 604_800;
/** The permissions an approval rule can gate: each names operations that can be approved. */
export const APPROVAL_PERMISSIONS: readonly Permission[] = Object.freeze([
  'read',
  'write',
  'sign',
  'decrypt',
]);

const RULE_FIELDS: ReadonlySet<string> = new Set([
  'required',
  'approverGroups',
  'approverPeople',
  'permissions',
  'grantTtlSeconds',
  'requestTtlSeconds',
]);

const where = (field: string, name: string): string => `${field}.${name}`;

function stringList(value: unknown, at: string): string[] {
  if (!Array.isArray(value)) throw new BadRequestError(`${at}: must be a list of strings`);
  if (value.length > APPROVAL_MAX_APPROVERS)
    throw new BadRequestError(`${at}: at most ${APPROVAL_MAX_APPROVERS} entries`);
  return value.map((v: unknown) => {
    if (typeof v !== 'string') throw new BadRequestError(`${at}: must be a list of strings`);
    return v;
  });
}

function integer(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new BadRequestError(`${at}: must be an integer`);
  return value;
}

/**
 * The JSON types of an approval rule: an object with only the known fields, each of its type.
 * Values are checked by `validateApprovalRule`. `field` names the rule in messages.
 */
export function decodeApprovalRule(value: unknown, field = 'approval'): ApprovalRule {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BadRequestError(
      `${field}: must be an object such as {"required":2,"approverGroups":["infra"]}`,
    );
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!RULE_FIELDS.has(key))
      throw new BadRequestError(
        `${field}: unknown field "${key.slice(0, 40)}" (known: ${[...RULE_FIELDS].join(', ')})`,
      );
  }
  const present = (name: string): boolean => o[name] !== undefined && o[name] !== null;
  const rule: ApprovalRule = {
    required: present('required') ? integer(o['required'], where(field, 'required')) : 0,
  };
  if (present('approverGroups'))
    rule.approverGroups = stringList(o['approverGroups'], where(field, 'approverGroups'));
  if (present('approverPeople'))
    rule.approverPeople = stringList(o['approverPeople'], where(field, 'approverPeople'));
  if (present('permissions'))
    rule.permissions = stringList(o['permissions'], where(field, 'permissions')) as Permission[];
  if (present('grantTtlSeconds'))
    rule.grantTtlSeconds = integer(o['grantTtlSeconds'], where(field, 'grantTtlSeconds'));
  if (present('requestTtlSeconds'))
    rule.requestTtlSeconds = integer(o['requestTtlSeconds'], where(field, 'requestTtlSeconds'));
  return rule;
}

function validName(v: string): boolean {
  if (v.length === 0 || v.length > APPROVAL_MAX_NAME_LENGTH || !v.isWellFormed()) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * The value rules of an approval rule: `required` 1..9; at least one approver group or person;
 * people are `user:<name>`; names 1..256 characters without control characters; `permissions`
 * among `read`, `write`, `sign`, `decrypt`; TTLs within their bounds. Returns the rule with
 * duplicates removed and empty lists left out.
 */
export function validateApprovalRule(rule: ApprovalRule, field = 'approval'): ApprovalRule {
  if (rule.required < 1 || rule.required > APPROVAL_MAX_REQUIRED)
    throw new BadRequestError(
      `${field}.required: how many approvals are needed, an integer 1..${APPROVAL_MAX_REQUIRED}`,
    );
  const groups = unique(rule.approverGroups ?? []);
  const people = unique(rule.approverPeople ?? []);
  for (const g of groups)
    if (!validName(g))
      throw new BadRequestError(
        `${field}.approverGroups: each a group name of 1..${APPROVAL_MAX_NAME_LENGTH} characters without control characters`,
      );
  for (const p of people)
    if (!validName(p) || !p.startsWith('user:') || p.length === 'user:'.length)
      throw new BadRequestError(`${field}.approverPeople: each is user:<name>`);
  if (groups.length === 0 && people.length === 0)
    throw new BadRequestError(`${field}: name at least one approver in approverGroups or approverPeople`);
  if (people.length > 0 && people.length < rule.required && groups.length === 0)
    throw new BadRequestError(
      `${field}.required: ${rule.required} approvals can never come from ${people.length} approver(s)`,
    );
  const out: ApprovalRule = { required: rule.required };
  if (groups.length > 0) out.approverGroups = groups;
  if (people.length > 0) out.approverPeople = people;
  if (rule.permissions !== undefined) {
    if (rule.permissions.length === 0)
      throw new BadRequestError(
        `${field}.permissions: leave it out (the policy's permissions) or name some of ${APPROVAL_PERMISSIONS.join(', ')}`,
      );
    for (const p of rule.permissions)
      if (!APPROVAL_PERMISSIONS.includes(p))
        throw new BadRequestError(`${field}.permissions: each one of ${APPROVAL_PERMISSIONS.join(', ')}`);
    out.permissions = unique(rule.permissions) as Permission[];
  }
  if (rule.grantTtlSeconds !== undefined) {
    if (rule.grantTtlSeconds < 1 || rule.grantTtlSeconds > APPROVAL_MAX_GRANT_TTL_SECONDS)
      throw new BadRequestError(`${field}.grantTtlSeconds: 1..${APPROVAL_MAX_GRANT_TTL_SECONDS} seconds`);
    out.grantTtlSeconds = rule.grantTtlSeconds;
  }
  if (rule.requestTtlSeconds !== undefined) {
    if (rule.requestTtlSeconds < 1 || rule.requestTtlSeconds > APPROVAL_MAX_REQUEST_TTL_SECONDS)
      throw new BadRequestError(`${field}.requestTtlSeconds: 1..${APPROVAL_MAX_REQUEST_TTL_SECONDS} seconds`);
    out.requestTtlSeconds = rule.requestTtlSeconds;
  }
  return out;
}

/**
 * Types and values of an approval rule in one step: what the CLI (policy files, flags), the SDK
 * and Nexus use. Throws `BadRequestError` naming the field and the rule.
 */
export function parseApprovalRule(value: unknown, field = 'approval'): ApprovalRule {
  return validateApprovalRule(decodeApprovalRule(value, field), field);
}

/** The permissions a rule gates: its own list, else the policy's (only those that can be gated). */
export function gatedPermissions(rule: ApprovalRule, policyPermissions: readonly Permission[]): Permission[] {
  const source = rule.permissions ?? policyPermissions;
  if (source.includes('super')) return [...APPROVAL_PERMISSIONS];
  return APPROVAL_PERMISSIONS.filter((p) => source.includes(p));
}
