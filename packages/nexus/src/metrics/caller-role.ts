/**
 * The `role` label of the request metrics: the SPIKE role of the caller's SPIFFE ID, never the ID
 * itself. A fixed, small set of values, so a caller cannot grow the metrics by presenting new
 * IDs; every ID that holds no SPIKE role is `workload`, and a request without an accepted
 * identity is `none`.
 */
import {
  isBootstrap,
  isKeeper,
  isLiteWorkload,
  isNexus,
  isPilotRecover,
  isPilotRestore,
  isPilotSuperuser,
  type TrustRoots,
} from '@spike-ts/identity';

/** Every value of the `role` label, in the order the predicates are tried. */
export const CALLER_ROLES = [
  'superuser',
  'recover',
  'restore',
  'lite_workload',
  'nexus',
  'keeper',
  'bootstrap',
  'workload',
  'none',
] as const;
export type CallerRole = (typeof CALLER_ROLES)[number];

const ROLE_INDEX: Readonly<Record<CallerRole, number>> = Object.fromEntries(
  CALLER_ROLES.map((role, i) => [role, i]),
) as Record<CallerRole, number>;

/** Most SPIFFE IDs whose role is remembered; beyond it the role is worked out each time. */
export const ROLE_CACHE_SIZE = 4096;

/** The role of `peerId` (undefined: no accepted identity), as an index into `CALLER_ROLES`. */
export type CallerRoleOf = (peerId: string | undefined) => number;

function roleOf(peerId: string, roots: TrustRoots): CallerRole {
  if (isPilotSuperuser(peerId, roots)) return 'superuser';
  if (isPilotRecover(peerId, roots)) return 'recover';
  if (isPilotRestore(peerId, roots)) return 'restore';
  if (isLiteWorkload(peerId, roots)) return 'lite_workload';
  if (isNexus(peerId, roots)) return 'nexus';
  if (isKeeper(peerId, roots)) return 'keeper';
  if (isBootstrap(peerId, roots)) return 'bootstrap';
  return 'workload';
}

/**
 * A role lookup for the request path: callers are few and repeat, so each ID's role is worked
 * out once (bounded; the role predicates build strings per trust root).
 */
export function createCallerRoleOf(roots: TrustRoots, cacheSize = ROLE_CACHE_SIZE): CallerRoleOf {
  const known = new Map<string, number>();
  return (peerId) => {
    if (peerId === undefined) return ROLE_INDEX.none;
    const hit = known.get(peerId);
    if (hit !== undefined) return hit;
    const index = ROLE_INDEX[roleOf(peerId, roots)];
    if (known.size < cacheSize) known.set(peerId, index);
    return index;
  };
}
