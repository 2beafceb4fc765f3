/**
 * The wire form of a stored policy. SPIKE's clients read the misspelled `spiffiedPattern`; we
 * also send the correct `spiffeidPattern` (additive). `id` is always empty: policies are keyed
 * by name, as in SPIKE. The zero-valued form (error bodies) is `POLICY_GET.errorBody`.
 */
import { formatRfc3339, type PolicyRecord } from '@spike-ts/core';
import type { ApprovalRule, PolicyReadResponse, ResponseBody } from '@spike-ts/protocol';

export function policyView(p: PolicyRecord): ResponseBody<PolicyReadResponse> {
  return {
    id: '',
    name: p.name,
    spiffiedPattern: p.spiffeIdPattern,
    spiffeidPattern: p.spiffeIdPattern,
    pathPattern: p.pathPattern,
    permissions: [...p.permissions],
    createdAt: formatRfc3339(p.createdTime),
    updatedAt: formatRfc3339(p.updatedTime),
    // Ours (ADR 0036), sent only when set: SPIKE's clients see the bytes they always saw.
    ...(p.people === undefined || p.people.length === 0 ? {} : { people: [...p.people] }),
    ...(p.groups === undefined || p.groups.length === 0 ? {} : { groups: [...p.groups] }),
    ...(p.workloadsOnly === true ? { workloadsOnly: true } : {}),
    ...(p.approval === undefined ? {} : { approval: approvalView(p.approval) }),
  };
}

function approvalView(rule: NonNullable<PolicyRecord['approval']>): ApprovalRule {
  return {
    required: rule.required,
    ...(rule.approverGroups === undefined ? {} : { approverGroups: [...rule.approverGroups] }),
    ...(rule.approverPeople === undefined ? {} : { approverPeople: [...rule.approverPeople] }),
    ...(rule.permissions === undefined ? {} : { permissions: [...rule.permissions] }),
    ...(rule.grantTtlSeconds === undefined ? {} : { grantTtlSeconds: rule.grantTtlSeconds }),
    ...(rule.requestTtlSeconds === undefined ? {} : { requestTtlSeconds: rule.requestTtlSeconds }),
  };
}
