/**
 * @module cli-args
 * Parsing and validation of command-line arguments with the protocol's rules. Every error names
 * the argument or option at fault; secret values are never echoed.
 */
import {
  BadRequestError,
  PERMISSIONS,
  validatePathPattern,
  validatePolicyName,
  validateSecretKeyName,
  normalizeSecretPath,
  validateSpiffeIdPattern,
  validatePolicyPeople,
  validateKeyName,
} from '@spike-ts/protocol';
import type { Permission } from '@spike-ts/protocol';
import { invalidInput, usageError } from './exit-code.ts';

/** Show user input in a message: bounded length, control characters escaped. */
export function shown(value: string): string {
  const cut = value.length > 80 ? value.slice(0, 77) + '...' : value;
  return JSON.stringify(cut).slice(1, -1).replace(/'/g, "\\'");
}

function rule(err: unknown): string {
  if (err instanceof BadRequestError) return err.detail.replace(/^[^:]*:\s*/, '');
  throw err;
}

export function secretPathArg(value: string): string {
  try {
    return normalizeSecretPath(value);
  } catch (err) {
    throw invalidInput(`Invalid secret path '${shown(value)}' (argument <path>): ${rule(err)}.`);
  }
}

/** A named key's name (`release/pgp`). */
export function keyNameArg(value: string, where = '<name>'): string {
  try {
    return validateKeyName(value);
  } catch (err) {
    throw invalidInput(`Invalid key name '${shown(value)}' (${where}): ${rule(err)}.`);
  }
}

/** `key=value` arguments (split on the first `=`); `position` numbers them from 1 after the path. */
export function keyValuePairs(args: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  args.forEach((arg, i) => {
    const where = `key=value argument #${i + 1}`;
    const eq = arg.indexOf('=');
    if (eq < 0) throw invalidInput(`Invalid ${where}: expected key=value, but there is no '='.`);
    const key = arg.slice(0, eq);
    try {
      validateSecretKeyName(key);
    } catch (err) {
      throw invalidInput(`Invalid key '${shown(key)}' in ${where}: the key ${rule(err)}.`);
    }
    if (Object.hasOwn(values, key)) throw invalidInput(`Key '${shown(key)}' is given more than once.`);
    Object.defineProperty(values, key, { value: arg.slice(eq + 1), enumerable: true, writable: true });
  });
  return values;
}

function integer(text: string, option: string, min: number, max: number): number {
  const t = text.trim();
  if (!/^[0-9]{1,15}$/.test(t) || Number(t) < min || Number(t) > max) {
    throw invalidInput(
      `Invalid value '${shown(text)}' for ${option}: expected an integer from ${min} to ${max}.`,
    );
  }
  return Number(t);
}

/** `-v/--version N`: 0 (or absent) = current. */
export function versionOption(value: string | undefined, option = '--version'): number | undefined {
  return value === undefined ? undefined : integer(value, option, 0, Number.MAX_SAFE_INTEGER);
}

/** `-v/--versions 1,2,3`: absent = the server's default. */
export function versionsOption(value: string | undefined, option = '--versions'): number[] {
  if (value === undefined) return [];
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length > 1000) throw invalidInput(`Too many versions in ${option} (at most 1000).`);
  return parts.map((p) => integer(p, option, 0, Number.MAX_SAFE_INTEGER));
}

export function policyNameArg(value: string | undefined, where: string): string {
  if (value === undefined) throw usageError(`A policy name is required (${where}).`);
  if (value === '') throw invalidInput(`A policy name is required (${where}).`);
  try {
    return validatePolicyName(value);
  } catch (err) {
    throw invalidInput(`Invalid policy name '${shown(value)}' (${where}): ${rule(err)}.`);
  }
}

export function spiffeIdPatternArg(value: string, where: string): string {
  try {
    return validateSpiffeIdPattern(value);
  } catch (err) {
    throw invalidInput(`Invalid SPIFFE ID pattern '${shown(value)}' (${where}): ${rule(err)}.`);
  }
}

export function pathPatternArg(value: string, where: string): string {
  try {
    return validatePathPattern(value);
  } catch (err) {
    throw invalidInput(`Invalid path pattern '${shown(value)}' (${where}): ${rule(err)}.`);
  }
}

/** `read,write` or a list; each must be a known permission. */
export function permissionsArg(value: string | readonly unknown[], where: string): Permission[] {
  const items = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [...value];
  if (items.length === 0 || (items.length === 1 && items[0] === '')) {
    throw invalidInput(`At least one permission is required (${where}): ${PERMISSIONS.join(', ')}.`);
  }
  return items.map((p) => {
    if (typeof p !== 'string' || !(PERMISSIONS as readonly string[]).includes(p)) {
      const got = typeof p === 'string' ? `'${shown(p)}'` : 'a non-string entry';
      throw invalidInput(
        `Invalid permission ${got} (${where}): valid permissions are ${PERMISSIONS.join(', ')}.`,
      );
    }
    return p as Permission;
  });
}

/** A comma list (`a,b`) or a list from a policy file; every entry must be a string. */
function nameList(value: string | readonly unknown[], what: string, where: string): string[] {
  const items = typeof value === 'string' ? value.split(',').map((p) => p.trim()) : [...value];
  if (!items.every((v) => typeof v === 'string')) {
    throw invalidInput(`Invalid ${what} (${where}): every entry must be a string.`);
  }
  return items;
}

/**
 * The people fields of a policy (ADR 0036) with Nexus's rules: `people` entries are `user:<name>`,
 * no group name is empty, and a workloads-only policy names nobody. Absent when not given.
 */
export function policyPeopleArgs(
  values: {
    people?: string | readonly unknown[];
    groups?: string | readonly unknown[];
    workloadsOnly?: boolean;
  },
  where: { people: string; groups: string; workloadsOnly: string },
): { people?: string[]; groups?: string[]; workloadsOnly?: boolean } {
  const people = values.people === undefined ? undefined : nameList(values.people, 'people', where.people);
  const groups = values.groups === undefined ? undefined : nameList(values.groups, 'groups', where.groups);
  for (const [list, field] of [
    [people, 'people'],
    [groups, 'groups'],
  ] as const) {
    if (list === undefined) continue;
    try {
      validatePolicyPeople({ [field]: list });
    } catch (err) {
      const bad = list.find((v) => v === '' || (field === 'people' && !/^user:./.test(v)));
      const at = field === 'people' ? where.people : where.groups;
      throw invalidInput(
        `Invalid ${field}${bad === undefined ? '' : ` entry '${shown(bad)}'`} (${at}): ${rule(err)}` +
          (field === 'people' ? ", e.g. 'user:alice'." : ', e.g. infra,trustees.'),
      );
    }
    if (list.length === 0 || (list.length === 1 && list[0] === '')) {
      throw invalidInput(
        `At least one ${field === 'people' ? 'person' : 'group'} is required (${field === 'people' ? where.people : where.groups}).`,
      );
    }
  }
  try {
    return validatePolicyPeople({
      ...(people === undefined ? {} : { people }),
      ...(groups === undefined ? {} : { groups }),
      ...(values.workloadsOnly === true ? { workloadsOnly: true } : {}),
    });
  } catch (err) {
    throw invalidInput(`Invalid ${where.workloadsOnly}: ${rule(err)}.`);
  }
}
