/**
 * The `role` label of the request metrics: the SPIKE role of the caller's SPIFFE ID, never the ID
 * itself. A fixed, small set of values, so a caller cannot grow the metrics by presenting new
 * IDs; every ID that holds no SPIKE role is `workload`, and a request without an accepted
 * identity is `none`. People (the people listener and the console) count by their role only:
 * `person_admin`, `person_auditor` or `person` — never a name, principal or group.
 */
import type { PersonRole } from '@spike-ts/core';
import { spikeRoleOf, type SpikeRole, type TrustRoots } from '@spike-ts/identity';

/** Every value of the `role` label. */
export const CALLER_ROLES = [
  'superuser',
  'recover',
  'restore',
  'lite_workload',
  'nexus',
  'keeper',
  'bootstrap',
  'workload',
  'person_admin',
  'person_auditor',
  'person',
  'none',
] as const;
export type CallerRole = (typeof CALLER_ROLES)[number];

const ROLE_INDEX: Readonly<Record<CallerRole, number>> = Object.fromEntries(
  CALLER_ROLES.map((role, i) => [role, i]),
) as Record<CallerRole, number>;

/** Most SPIFFE IDs whose role is remembered; beyond it the role is worked out each time. */
export const ROLE_CACHE_SIZE = 4096;

/**
 * The role of `peerId` (undefined: no accepted identity), as an index into `CALLER_ROLES`. A
 * person (`person` set: their role) is labelled by that role alone, whatever `peerId` says.
 */
export type CallerRoleOf = (peerId: string | undefined, person?: PersonRole) => number;

/** The label of each person role. */
const PERSON_LABEL: Readonly<Record<PersonRole, CallerRole>> = {
  admin: 'person_admin',
  auditor: 'person_auditor',
  user: 'person',
};

/** The label of each SPIKE role; which role an ID holds is identity's `spikeRoleOf`. */
const ROLE_LABEL: Readonly<Record<SpikeRole, CallerRole>> = {
  'pilot/role/superuser': 'superuser',
  'pilot/role/recover': 'recover',
  'pilot/role/restore': 'restore',
  'workload/role/lite': 'lite_workload',
  nexus: 'nexus',
  keeper: 'keeper',
  bootstrap: 'bootstrap',
};

function roleOf(peerId: string, roots: TrustRoots): CallerRole {
  const role = spikeRoleOf(peerId, roots);
  return role === undefined ? 'workload' : ROLE_LABEL[role];
}

/**
 * A role lookup for the request path: callers are few and repeat, so each ID's role is worked
 * out once (bounded; the role predicates build strings per trust root).
 */
export function createCallerRoleOf(roots: TrustRoots, cacheSize = ROLE_CACHE_SIZE): CallerRoleOf {
  const known = new Map<string, number>();
  return (peerId, person) => {
    if (peerId === undefined) return ROLE_INDEX.none;
    if (person !== undefined) return ROLE_INDEX[PERSON_LABEL[person]];
    const hit = known.get(peerId);
    if (hit !== undefined) return hit;
    const index = ROLE_INDEX[roleOf(peerId, roots)];
    if (known.size < cacheSize) known.set(peerId, index);
    return index;
  };
}
