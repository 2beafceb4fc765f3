/**
 * The wire form of a stored policy. SPIKE's clients read the misspelled `spiffiedPattern`; we
 * also send the correct `spiffeidPattern` (additive). `id` is always empty: policies are keyed
 * by name, as in SPIKE.
 */
import { formatRfc3339, type PolicyRecord } from '@spike-ts/core';

/** Go's zero `time.Time` as encoding/json writes it (error bodies). */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export function policyView(p: PolicyRecord): Record<string, unknown> {
  return {
    id: '',
    name: p.name,
    spiffiedPattern: p.spiffeIdPattern,
    spiffeidPattern: p.spiffeIdPattern,
    pathPattern: p.pathPattern,
    permissions: [...p.permissions],
    createdAt: formatRfc3339(p.createdTime),
    updatedAt: formatRfc3339(p.updatedTime),
  };
}

/** The policy read response with every field zeroed (error bodies). */
export const EMPTY_POLICY_VIEW: Readonly<Record<string, unknown>> = Object.freeze({
  id: '',
  name: '',
  spiffiedPattern: '',
  spiffeidPattern: '',
  pathPattern: '',
  permissions: null,
  createdAt: GO_ZERO_TIME,
  updatedAt: GO_ZERO_TIME,
});
