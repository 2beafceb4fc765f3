/**
 * SPIKE role identities and their predicates (wire-compatible with SPIKE 0.8.2).
 *
 * A role ID is `spiffe://<trust root>/spike/<role>`; a peer ID matches a role when it equals
 * that base or starts with `base + '/'` (so `…/spike/nexus/pod-1` is Nexus but
 * `…/spike/nexus-evil` is not), for any of the role's configured trust roots.
 */
import {
  SettingsError,
  SettingsReader,
  SPIKE_TRUST_ROOT_BOOTSTRAP,
  SPIKE_TRUST_ROOT_KEEPER,
  SPIKE_TRUST_ROOT_LITE_WORKLOAD,
  SPIKE_TRUST_ROOT_NEXUS,
  SPIKE_TRUST_ROOT_PILOT,
  type Env,
} from '@spike-ts/settings';
import { parseTrustDomain } from './spiffe-id.ts';
import type { SpiffeId } from './spiffe-id.ts';

export const SPIKE_ROLES = [
  'nexus',
  'keeper',
  'bootstrap',
  'pilot/role/superuser',
  'pilot/role/recover',
  'pilot/role/restore',
  'workload/role/lite',
] as const;
export type SpikeRole = (typeof SPIKE_ROLES)[number];

export const DEFAULT_TRUST_ROOT = 'spike.ist';

/** Trust domains accepted per role family. */
export interface TrustRoots {
  readonly nexus: readonly string[];
  readonly keeper: readonly string[];
  /** Used for the superuser, recover and restore roles. */
  readonly pilot: readonly string[];
  readonly bootstrap: readonly string[];
  readonly liteWorkload: readonly string[];
}

export const TRUST_ROOT_ENV = {
  nexus: 'SPIKE_TRUST_ROOT_NEXUS',
  keeper: 'SPIKE_TRUST_ROOT_KEEPER',
  pilot: 'SPIKE_TRUST_ROOT_PILOT',
  bootstrap: 'SPIKE_TRUST_ROOT_BOOTSTRAP',
  liteWorkload: 'SPIKE_TRUST_ROOT_LITE_WORKLOAD',
} as const satisfies Record<keyof TrustRoots, string>;

/** An invalid `SPIKE_TRUST_ROOT_*` variable: the settings table's one error type. */
export { SettingsError as TrustRootConfigError };

/** Reads the five per-role trust roots through a settings reader (unset or blank → `spike.ist`). */
export function readTrustRoots(reader: SettingsReader): TrustRoots {
  return Object.freeze({
    nexus: reader.get(SPIKE_TRUST_ROOT_NEXUS),
    keeper: reader.get(SPIKE_TRUST_ROOT_KEEPER),
    pilot: reader.get(SPIKE_TRUST_ROOT_PILOT),
    bootstrap: reader.get(SPIKE_TRUST_ROOT_BOOTSTRAP),
    liteWorkload: reader.get(SPIKE_TRUST_ROOT_LITE_WORKLOAD),
  });
}

/** Reads and validates the per-role trust roots; throws `SettingsError` naming every bad one. */
export function trustRootsFromEnv(env: Env): TrustRoots {
  const reader = new SettingsReader(env);
  const roots = readTrustRoots(reader);
  reader.done();
  return roots;
}

/** Default roots (`spike.ist` for every role). */
export const DEFAULT_TRUST_ROOTS: TrustRoots = trustRootsFromEnv({});

/** `spiffe://<trustDomain>/spike/<role>`. */
export function roleSpiffeId(role: SpikeRole, trustDomain: string): string {
  if (!(SPIKE_ROLES as readonly string[]).includes(role))
    throw new Error(`unknown SPIKE role "${String(role)}"`);
  return `spiffe://${parseTrustDomain(trustDomain)}/spike/${role}`;
}

function rootsFor(role: SpikeRole, roots: TrustRoots): readonly string[] {
  switch (role) {
    case 'nexus':
      return roots.nexus;
    case 'keeper':
      return roots.keeper;
    case 'bootstrap':
      return roots.bootstrap;
    case 'workload/role/lite':
      return roots.liteWorkload;
    case 'pilot/role/superuser':
    case 'pilot/role/recover':
    case 'pilot/role/restore':
      return roots.pilot;
  }
}

/** SPIKE's matching rule: the ID equals the role base or lies below it (prefix + `/`). */
export function hasRole(id: string | SpiffeId, role: SpikeRole, roots: TrustRoots): boolean {
  const s = typeof id === 'string' ? id : id.toString();
  for (const td of rootsFor(role, roots)) {
    const base = `spiffe://${td}/spike/${role}`;
    if (s === base) return true;
    if (s.length > base.length + 1 && s.startsWith(base) && s.charCodeAt(base.length) === 0x2f) return true;
  }
  return false;
}

export const isNexus = (id: string | SpiffeId, roots: TrustRoots): boolean => hasRole(id, 'nexus', roots);
export const isKeeper = (id: string | SpiffeId, roots: TrustRoots): boolean => hasRole(id, 'keeper', roots);
export const isBootstrap = (id: string | SpiffeId, roots: TrustRoots): boolean =>
  hasRole(id, 'bootstrap', roots);
export const isPilotSuperuser = (id: string | SpiffeId, roots: TrustRoots): boolean =>
  hasRole(id, 'pilot/role/superuser', roots);
export const isPilotRecover = (id: string | SpiffeId, roots: TrustRoots): boolean =>
  hasRole(id, 'pilot/role/recover', roots);
export const isPilotRestore = (id: string | SpiffeId, roots: TrustRoots): boolean =>
  hasRole(id, 'pilot/role/restore', roots);
export const isLiteWorkload = (id: string | SpiffeId, roots: TrustRoots): boolean =>
  hasRole(id, 'workload/role/lite', roots);

/**
 * The SPIKE role `id` holds under `roots`, or undefined when it holds none. The role bases never
 * lie below one another, so at most one role matches.
 */
export function spikeRoleOf(id: string | SpiffeId, roots: TrustRoots): SpikeRole | undefined {
  for (const role of SPIKE_ROLES) if (hasRole(id, role, roots)) return role;
  return undefined;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

/**
 * SPIKE's peer ID sanity check, `^spiffe://[a-zA-Z0-9.-]+(/[a-zA-Z0-9._-]+)*$`, as one linear
 * scan (it is looser than {@link parseSpiffeId} in places, e.g. `.` segments, and stricter in
 * others, e.g. no `_` in the trust domain).
 */
export function isSpikeCompatibleId(id: string): boolean {
  const prefix = 'spiffe://';
  if (typeof id !== 'string' || !id.startsWith(prefix)) return false;
  let i = prefix.length;
  const tdStart = i;
  while (i < id.length) {
    const c = id.charCodeAt(i);
    if (c === 0x2f) break;
    if (!(isAsciiAlnum(c) || c === 0x2e || c === 0x2d)) return false;
    i++;
  }
  if (i === tdStart) return false;
  while (i < id.length) {
    // id[i] is '/', which must open a non-empty segment.
    i++;
    const segStart = i;
    while (i < id.length) {
      const c = id.charCodeAt(i);
      if (c === 0x2f) break;
      if (!(isAsciiAlnum(c) || c === 0x2e || c === 0x2d || c === 0x5f)) return false;
      i++;
    }
    if (i === segStart) return false;
  }
  return true;
}
