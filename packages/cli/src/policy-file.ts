/**
 * @module policy-file
 * Reads a policy file for `spike policy apply --file`: YAML (SPIKE's format) or JSON, with the
 * keys `name`, `spiffeidPattern`, `pathPattern` and `permissions` (a list, or a comma string), and
 * optionally the people fields of ADR 0036: `people`, `groups` (lists or comma strings) and
 * `workloadsOnly` (true/false). With people or groups, `spiffeidPattern` may be left out or empty.
 * `approval` (a mapping: `required`, `approverGroups`, `approverPeople`, `permissions`,
 * `grantTtlSeconds`, `requestTtlSeconds`; durations also as `15m`) makes operations on the paths
 * need multi-party approval.
 */
import { parse } from 'yaml';
import type { PolicyInput } from '@spike-ts/sdk';
import { policyApprovalArgs, type PolicyApprovalInput } from './approval-args.ts';
import {
  pathPatternArg,
  permissionsArg,
  policyNameArg,
  policyPeopleArgs,
  shown,
  spiffeIdPatternArg,
} from './cli-args.ts';
import { invalidInput } from './exit-code.ts';
import { readFileLimited } from './read-input.ts';

export const MAX_POLICY_FILE_BYTES = 64 * 1024;

const KEYS = ['name', 'spiffeidPattern', 'pathPattern', 'permissions'] as const;
const PEOPLE_KEYS = ['people', 'groups', 'workloadsOnly', 'approval'] as const;
const APPROVAL_KEYS = [
  'required',
  'approverGroups',
  'approverPeople',
  'permissions',
  'grantTtlSeconds',
  'requestTtlSeconds',
] as const;

/** The `approval` mapping of a policy file, checked like the flags. */
function approvalOfDocument(value: unknown, file: string): PolicyApprovalInput | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidInput(
      `Policy approval in '${shown(file)}' must be a mapping with ${APPROVAL_KEYS.join(', ')}.`,
    );
  }
  const a = value as Record<string, unknown>;
  const unknownKeys = Object.keys(a).filter((k) => !(APPROVAL_KEYS as readonly string[]).includes(k));
  if (unknownKeys.length > 0) {
    throw invalidInput(
      `Policy approval in '${shown(file)}' has unknown key(s) ${unknownKeys.map((k) => `'${shown(k)}'`).join(', ')}; ` +
        `expected ${APPROVAL_KEYS.join(', ')}.`,
    );
  }
  const at = (key: string) => `approval.${key} in ${shown(file)}`;
  if (a['required'] === undefined || a['required'] === null) {
    throw invalidInput(`Policy ${at('required')} is required: how many approvals, 1 to 9.`);
  }
  const rule = policyApprovalArgs(
    {
      required: a['required'] ?? null,
      groups: a['approverGroups'],
      people: a['approverPeople'],
      permissions: a['permissions'],
      grantTtl: a['grantTtlSeconds'],
      requestTtl: a['requestTtlSeconds'],
    },
    {
      required: at('required'),
      groups: at('approverGroups'),
      people: at('approverPeople'),
      permissions: at('permissions'),
      grantTtl: at('grantTtlSeconds'),
      requestTtl: at('requestTtlSeconds'),
    },
  );
  if (rule === undefined)
    throw invalidInput(`Policy approval in '${shown(file)}' is empty: give at least required.`);
  return rule;
}

/** Parse the text of a policy file; `file` is used in messages. */
export function parsePolicyDocument(
  text: string,
  file: string,
): PolicyInput & { approval?: PolicyApprovalInput } {
  let doc: unknown;
  try {
    // JSON is (practically) a subset of YAML 1.2; one parser reads both.
    doc = parse(text, { maxAliasCount: 0, uniqueKeys: true });
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : 'parse error';
    throw invalidInput(`Cannot parse policy file '${shown(file)}' as YAML or JSON: ${reason}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalidInput(`Policy file '${shown(file)}' must contain a mapping with ${KEYS.join(', ')}.`);
  }
  const obj = doc as Record<string, unknown>;
  const known: readonly string[] = [...KEYS, ...PEOPLE_KEYS];
  const unknownKeys = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknownKeys.length > 0) {
    throw invalidInput(
      `Policy file '${shown(file)}' has unknown key(s) ${unknownKeys.map((k) => `'${shown(k)}'`).join(', ')}; ` +
        `expected ${KEYS.join(', ')} (optional: ${PEOPLE_KEYS.join(', ')}).`,
    );
  }
  const where = (key: string) => `${key} in ${shown(file)}`;
  const list = (key: 'people' | 'groups'): string | unknown[] | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' || Array.isArray(v)) return v as string | unknown[];
    throw invalidInput(`Policy ${key} in '${shown(file)}' must be a list or a comma-separated string.`);
  };
  const wo = obj['workloadsOnly'];
  if (wo !== undefined && wo !== null && typeof wo !== 'boolean') {
    throw invalidInput(`Policy workloadsOnly in '${shown(file)}' must be true or false.`);
  }
  const peopleList = list('people');
  const groupsList = list('groups');
  const people = policyPeopleArgs(
    {
      ...(peopleList === undefined ? {} : { people: peopleList }),
      ...(groupsList === undefined ? {} : { groups: groupsList }),
      ...(wo === true ? { workloadsOnly: true } : {}),
    },
    { people: where('people'), groups: where('groups'), workloadsOnly: where('workloadsOnly') },
  );
  const namesPeople =
    people.people !== undefined || people.groups !== undefined || (obj['approval'] ?? null) !== null;
  for (const key of KEYS) {
    if (key === 'spiffeidPattern' && namesPeople && (obj[key] ?? '') === '') continue;
    const v = obj[key];
    if (v === undefined || v === null || v === '') {
      throw invalidInput(`Policy ${key} is required in policy file '${shown(file)}'.`);
    }
  }
  const str = (key: (typeof KEYS)[number]): string => {
    const v = obj[key];
    if (typeof v !== 'string') throw invalidInput(`Policy ${key} in '${shown(file)}' must be a string.`);
    return v;
  };
  const approval = approvalOfDocument(obj['approval'], file);
  const perms = obj['permissions'];
  const pattern = namesPeople && (obj['spiffeidPattern'] ?? '') === '' ? '' : str('spiffeidPattern');
  return {
    name: policyNameArg(str('name'), where('name')),
    spiffeIdPattern: pattern === '' ? '' : spiffeIdPatternArg(pattern, where('spiffeidPattern')),
    pathPattern: pathPatternArg(str('pathPattern'), where('pathPattern')),
    permissions: permissionsArg(
      typeof perms === 'string' ? perms : Array.isArray(perms) ? (perms as unknown[]) : [perms],
      where('permissions'),
    ),
    ...people,
    ...(approval === undefined ? {} : { approval }),
  };
}

export async function readPolicyFile(
  file: string,
): Promise<PolicyInput & { approval?: PolicyApprovalInput }> {
  const bytes = await readFileLimited(file, MAX_POLICY_FILE_BYTES, '--file');
  return parsePolicyDocument(bytes.toString('utf8'), file);
}
