/**
 * Who is calling and through which door. A workload proves a SPIFFE ID over mTLS; a person
 * presents an OIDC access token on the people listener (or is logged in to the console). The
 * two never mix: SPIFFE ID patterns of policies match workloads only, the people fields of
 * policies match people only.
 */

/** `mtls`: the SPIKE API port; `people-api`: the people listener; `console`: the web console. */
export type Door = 'mtls' | 'people-api' | 'console';

export const DOORS: readonly Door[] = Object.freeze(['mtls', 'people-api', 'console']);

/** What a person may do beyond their policies: admins act as superusers, auditors read metadata. */
export type PersonRole = 'admin' | 'auditor' | 'user';

export interface WorkloadCaller {
  readonly kind: 'workload';
  readonly spiffeId: string;
}

export interface PersonCaller {
  readonly kind: 'person';
  /** `user:<value of the issuer's user claim>`. */
  readonly principal: string;
  /** The values of the issuer's groups claim, as sent. */
  readonly groups: readonly string[];
  /** The `iss` of the token that proved it. */
  readonly issuer: string;
  readonly role: PersonRole;
}

export type Caller = WorkloadCaller | PersonCaller;

/** The prefix of every person's principal. */
export const PERSON_PRINCIPAL_PREFIX = 'user:';

export function workloadCaller(spiffeId: string): WorkloadCaller {
  return Object.freeze({ kind: 'workload', spiffeId });
}

/** The name a caller goes by in logs and audit records: the SPIFFE ID or `user:<name>`. */
export function callerName(caller: Caller): string {
  return caller.kind === 'workload' ? caller.spiffeId : caller.principal;
}
