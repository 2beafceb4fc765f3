/** The policies the Nexus benchmark installs (through the API, as the Pilot superuser). */
import type { PolicySpec } from './load-protocol.ts';

/** The one policy that lets the measured (non-superuser) workload read and write `bench/...`. */
export const readPolicy: PolicySpec = {
  name: 'bench-reader',
  spiffeidPattern: '^spiffe://spike\\.ist/workload/demo$',
  pathPattern: '^bench/.*$',
  permissions: ['read', 'write'],
};

/**
 * A policy whose approval rule gates reading paths the measured caller never asks for: while any
 * rule exists, API threads look at each read's path (ADR 0042) but still answer it themselves.
 */
export const gatedPolicy: PolicySpec = {
  name: 'bench-gated',
  spiffeidPattern: '^spiffe://spike\\.ist/workload/demo$',
  pathPattern: '^gated/.*$',
  permissions: ['read'],
  approval: { required: 2, approverGroups: ['infra'] },
};

/** Policies of other workloads, one each: `bench-app-<from>` … `bench-app-<to - 1>`. */
export function otherWorkloadPolicies(from: number, to: number): PolicySpec[] {
  return Array.from({ length: to - from }, (_, i) => ({
    name: `bench-app-${String(from + i)}`,
    spiffeidPattern: `^spiffe://spike\\.ist/workload/app-${String(from + i)}$`,
    pathPattern: `^apps/app-${String(from + i)}/.*$`,
    permissions: ['read'],
  }));
}

/** Policies whose SPIFFE ID pattern matches the measured caller but whose paths it never asks for. */
export function callerMatchingPolicies(count: number): PolicySpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `bench-team-${String(i)}`,
    spiffeidPattern: '^spiffe://spike\\.ist/workload/.*$',
    pathPattern: `^teams/team-${String(i)}/.*$`,
    permissions: ['read'],
  }));
}
