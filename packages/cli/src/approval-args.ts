/**
 * @module approval-args
 * Arguments of the multi-party approval commands (`spike request|approve|deny|requests`, and the
 * `approval` options of `spike policy create|apply`), checked before anything is sent: the
 * operation, the reason, a request ID, a status filter, and durations such as `15m` or `900`.
 * Every error names the argument or option at fault.
 */
import {
  APPROVAL_MAX_COMMENT_LENGTH,
  APPROVAL_MAX_GRANT_TTL_SECONDS,
  APPROVAL_MAX_REASON_LENGTH,
  APPROVAL_MAX_REQUEST_TTL_SECONDS,
  APPROVAL_MAX_REQUIRED,
  APPROVAL_PERMISSIONS,
  APPROVAL_STATUSES,
  BadRequestError,
  parseApprovalRule,
  validateApprovalComment,
  validateApprovalId,
  validateApprovalReason,
  type ApprovalRule,
  type ApprovalStatus,
} from '@spike-ts/protocol';
import { shown } from './cli-args.ts';
import { invalidInput, usageError } from './exit-code.ts';

export { APPROVAL_OPERATIONS, APPROVAL_STATUSES } from '@spike-ts/protocol';
export type { ApprovalOperation, ApprovalStatus } from '@spike-ts/protocol';

/** Longest reason or comment, in characters (the server's rule). */
export const MAX_REASON_CHARS = APPROVAL_MAX_REASON_LENGTH;

/** The rule from a protocol validation error, without its field prefix. */
function rule(err: unknown): string {
  if (err instanceof BadRequestError) return err.detail.replace(/^[^:]*:\s*/, '');
  throw err;
}

/** `--reason`: 1..1000 characters, not only white space, no control characters but newline and tab. */
export function reasonArg(value: string | undefined, where = '--reason'): string {
  if (value === undefined) throw usageError(`A reason is required (${where} "why you need this").`);
  if (value.trim() === '') {
    throw invalidInput(`The reason is empty (${where}): say why you need this: the approvers read it.`);
  }
  if (value.length > APPROVAL_MAX_REASON_LENGTH) {
    throw invalidInput(
      `The reason is ${String(value.length)} characters long (${where}); at most ${String(APPROVAL_MAX_REASON_LENGTH)} are allowed.`,
    );
  }
  try {
    return validateApprovalReason(value);
  } catch (err) {
    throw invalidInput(`Invalid reason (${where}): ${rule(err)}.`);
  }
}

/** `--comment`: optional, at most 1000 characters; an empty one is left out. */
export function commentArg(value: string | undefined, where = '--comment'): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (value.length > APPROVAL_MAX_COMMENT_LENGTH) {
    throw invalidInput(
      `The comment is ${String(value.length)} characters long (${where}); at most ${String(APPROVAL_MAX_COMMENT_LENGTH)} are allowed.`,
    );
  }
  try {
    return validateApprovalComment(value);
  } catch (err) {
    throw invalidInput(`Invalid comment (${where}): ${rule(err)}.`);
  }
}

/** `<id>` of a request, as `spike request` printed it. */
export function requestIdArg(value: string, where = '<id>'): string {
  try {
    return validateApprovalId(value.trim());
  } catch {
    throw invalidInput(
      `Invalid request ID '${shown(value)}' (${where}): use the ID 'spike request' printed ` +
        `(22 to 64 letters, digits, - and _), or find it with 'spike requests list'.`,
    );
  }
}

/** `--status`: one of the statuses. */
export function statusArg(value: string | undefined): ApprovalStatus | undefined {
  if (value === undefined) return undefined;
  if (!(APPROVAL_STATUSES as readonly string[]).includes(value)) {
    throw invalidInput(`Invalid --status '${shown(value)}': use one of ${APPROVAL_STATUSES.join(', ')}.`);
  }
  return value as ApprovalStatus;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * A duration in whole seconds: `900`, `90s`, `15m`, `1h30m`, `2d`. `min`/`max` bound it; the
 * message names the option.
 */
export function durationSecondsArg(value: string, option: string, min: number, max: number): number {
  const text = value.trim().toLowerCase();
  let seconds: number | undefined;
  if (/^[0-9]{1,9}$/.test(text)) seconds = Number(text);
  else if (/^([0-9]{1,9}[smhd])+$/.test(text)) {
    seconds = 0;
    for (const m of text.matchAll(/([0-9]{1,9})([smhd])/g)) {
      seconds += Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1);
    }
  }
  if (seconds === undefined || !Number.isSafeInteger(seconds) || seconds < min || seconds > max) {
    throw invalidInput(
      `Invalid value '${shown(value)}' for ${option}: expected a duration from ${formatSeconds(min)} to ` +
        `${formatSeconds(max)}, e.g. 900, 15m or 1h30m.`,
    );
  }
  return seconds;
}

/** `3723` -> `1h2m3s`; `0` -> `0s`. */
export function formatSeconds(total: number): string {
  if (total <= 0) return '0s';
  const parts: string[] = [];
  let rest = Math.floor(total);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${String(Math.floor(rest / size))}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

// --- the `approval` field of a policy ----------------------------------------------------------

/** A policy's approval rule as the CLI sends it (the protocol's `ApprovalRule`). */
export type PolicyApprovalInput = ApprovalRule;

/** Bounds of the approval rule (the server's rules). */
export const APPROVAL_LIMITS = Object.freeze({
  maxRequired: APPROVAL_MAX_REQUIRED,
  maxGrantTtlSeconds: APPROVAL_MAX_GRANT_TTL_SECONDS,
  maxRequestTtlSeconds: APPROVAL_MAX_REQUEST_TTL_SECONDS,
});

/** Values of an approval rule as typed: flags (strings) or a policy file (strings, numbers, lists). */
export interface ApprovalValues {
  required?: unknown;
  groups?: unknown;
  people?: unknown;
  permissions?: unknown;
  grantTtl?: unknown;
  requestTtl?: unknown;
}

/** Where each value came from, for messages (`--approval-groups`, or `approval.approverGroups in f.yaml`). */
export type ApprovalWhere = Readonly<Record<keyof ApprovalValues, string>>;

export const APPROVAL_FLAG_NAMES: ApprovalWhere = Object.freeze({
  required: '--approval-required',
  groups: '--approval-groups',
  people: '--approval-people',
  permissions: '--approval-permissions',
  grantTtl: '--grant-ttl',
  requestTtl: '--request-ttl',
});

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function listOf(value: unknown, where: string, what: string): string[] {
  const items =
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : Array.isArray(value)
        ? (value as unknown[])
        : undefined;
  if (items === undefined || !items.every((v): v is string => typeof v === 'string')) {
    throw invalidInput(`Invalid ${what} (${where}): give a comma-separated list or a list of strings.`);
  }
  return items.map((s) => s.trim());
}

function seconds(value: unknown, where: string, max: number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw invalidInput(
        `Invalid value ${String(value)} for ${where}: expected whole seconds from 1 to ${String(max)} (${formatSeconds(max)}).`,
      );
    }
    return value;
  }
  if (typeof value !== 'string')
    throw invalidInput(`Invalid ${where}: expected a duration such as 15m or 900.`);
  return durationSecondsArg(value, where, 1, max);
}

/**
 * The approval rule of a policy from flags or a policy file, or undefined when none is given.
 * Checks what the CLI can (the server validates the rule again, together with the policy's own
 * permissions): 1..9 approvals, at least one approver group or `user:<name>` person, known
 * permissions, durations within the limits.
 */
export function policyApprovalArgs(
  values: ApprovalValues,
  where: ApprovalWhere,
): PolicyApprovalInput | undefined {
  const given = (Object.keys(where) as (keyof ApprovalValues)[]).filter(
    (k) => values[k] !== undefined && values[k] !== null,
  );
  if (given.length === 0) return undefined;
  if (values.required === undefined || values.required === null) {
    throw usageError(
      `${given.map((k) => where[k]).join(', ')} need${given.length === 1 ? 's' : ''} ${where.required} ` +
        `(how many approvals, 1 to ${String(APPROVAL_LIMITS.maxRequired)}).`,
    );
  }
  const r = values.required;
  const required =
    typeof r === 'number' ? r : typeof r === 'string' && /^\s*[0-9]{1,3}\s*$/.test(r) ? Number(r) : NaN;
  if (!Number.isInteger(required) || required < 1 || required > APPROVAL_LIMITS.maxRequired) {
    throw invalidInput(
      `Invalid value '${shown(typeof r === 'string' ? r : JSON.stringify(r))}' for ${where.required}: expected an integer from 1 to ${String(APPROVAL_LIMITS.maxRequired)}.`,
    );
  }
  const groups =
    values.groups === undefined || values.groups === null
      ? []
      : listOf(values.groups, where.groups, 'approver groups');
  const people =
    values.people === undefined || values.people === null
      ? []
      : listOf(values.people, where.people, 'approver people');
  for (const g of groups) {
    if (g === '' || g.length > 256 || hasControl(g)) {
      throw invalidInput(`Invalid approver group '${shown(g)}' (${where.groups}).`);
    }
  }
  for (const p of people) {
    if (!/^user:./.test(p) || p.length > 256 || hasControl(p)) {
      throw invalidInput(
        `Invalid approver '${shown(p)}' (${where.people}): each entry is user:<name>, e.g. user:alice.`,
      );
    }
  }
  if (groups.length === 0 && people.length === 0) {
    throw invalidInput(
      `An approval rule needs approvers: give ${where.groups} (e.g. infra) and/or ${where.people} (e.g. user:alice,user:bob).`,
    );
  }
  let permissions: string[] | undefined;
  if (values.permissions !== undefined && values.permissions !== null) {
    permissions = listOf(values.permissions, where.permissions, 'permissions');
    if (permissions.length === 0) throw invalidInput(`Give at least one permission (${where.permissions}).`);
    for (const p of permissions) {
      if (!(APPROVAL_PERMISSIONS as readonly string[]).includes(p)) {
        throw invalidInput(
          `Invalid permission '${shown(p)}' (${where.permissions}): an approval rule gates ${APPROVAL_PERMISSIONS.join(', ')}.`,
        );
      }
    }
  }
  const grant =
    values.grantTtl === undefined || values.grantTtl === null
      ? undefined
      : seconds(values.grantTtl, where.grantTtl, APPROVAL_LIMITS.maxGrantTtlSeconds);
  const request =
    values.requestTtl === undefined || values.requestTtl === null
      ? undefined
      : seconds(values.requestTtl, where.requestTtl, APPROVAL_LIMITS.maxRequestTtlSeconds);
  const candidate = {
    required,
    ...(groups.length === 0 ? {} : { approverGroups: groups }),
    ...(people.length === 0 ? {} : { approverPeople: people }),
    ...(permissions === undefined ? {} : { permissions }),
    ...(grant === undefined ? {} : { grantTtlSeconds: grant }),
    ...(request === undefined ? {} : { requestTtlSeconds: request }),
  };
  // Nexus's own check (the same function), for what the checks above do not cover.
  try {
    return parseApprovalRule(candidate);
  } catch (err) {
    if (err instanceof BadRequestError) throw invalidInput(`Invalid approval rule: ${err.detail}.`);
    throw err;
  }
}

/** One line for `policy get`: `2 of groups infra; people user:x; for read; grant 15m; request 1d`. */
export function approvalSummary(a: PolicyApprovalInput): string {
  const parts = [`${String(a.required)} approval${a.required === 1 ? '' : 's'}`];
  if (a.approverGroups !== undefined) parts.push(`from groups ${a.approverGroups.join(', ')}`);
  if (a.approverPeople !== undefined) parts.push(`from people ${a.approverPeople.join(', ')}`);
  parts.push(`for ${a.permissions === undefined ? "the policy's permissions" : a.permissions.join(', ')}`);
  if (a.grantTtlSeconds !== undefined) parts.push(`grant valid ${formatSeconds(a.grantTtlSeconds)}`);
  if (a.requestTtlSeconds !== undefined)
    parts.push(`requests expire after ${formatSeconds(a.requestTtlSeconds)}`);
  return parts.join('; ');
}
