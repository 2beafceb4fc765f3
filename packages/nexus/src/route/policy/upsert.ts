/**
 * `POST /v1/acl/policy` — create or replace a policy by name. `createdAt` survives a replace.
 * An invalid pattern or a reserved-path rule violation is 400 (SPIKE answers 500 here). The
 * compiled engine is updated only after the store accepted the policy.
 */
import { checkReservedPathRule, compilePolicy, InvalidPolicyError, type PolicyRecord } from '@spike-ts/core';
import {
  POLICY_UPSERT,
  validatePathPattern,
  validatePermissions,
  validatePolicyName,
  validatePolicyPeople,
  validatePolicySpiffeIdPattern,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function policyUpsertRoute(deps: RouteDeps): Route {
  return jsonRoute(POLICY_UPSERT, {
    subject: (req) => ({ policy: req.name }),
    authorize: (peerId) => deps.authz.policy(peerId, 'write'),
    validate: (req) => {
      // People fields (ADR 0036): with people or groups the SPIFFE ID pattern may be empty.
      const people = validatePolicyPeople(req);
      return {
        name: validatePolicyName(req.name),
        spiffeidPattern: validatePolicySpiffeIdPattern(req.spiffeidPattern, people),
        pathPattern: validatePathPattern(req.pathPattern),
        permissions: validatePermissions(req.permissions),
        ...people,
      };
    },
    handle: async (req, ctx) => {
      // Changing policies may itself need a grant: an approval rule on spike/system/acl (ADR 0042).
      await deps.approvals.enforce(ctx.caller, 'policy', '', ctx.note);
      return await deps.policyQueue.run(async () => {
        const existing = await deps.store.getPolicy(req.name);
        const now = deps.now();
        const record: PolicyRecord = {
          name: req.name,
          spiffeIdPattern: req.spiffeidPattern,
          pathPattern: req.pathPattern,
          permissions: validatePermissions(req.permissions),
          createdTime: existing?.createdTime ?? now,
          updatedTime: now,
          ...(req.people === undefined ? {} : { people: req.people }),
          ...(req.groups === undefined ? {} : { groups: req.groups }),
          ...(req.workloadsOnly === true ? { workloadsOnly: true } : {}),
          ...(req.approval === undefined ? {} : { approval: req.approval }),
        };
        const compiled = compilePolicy(record);
        const rule = checkReservedPathRule(compiled);
        if (!rule.ok) throw new InvalidPolicyError(rule.reason);
        await deps.store.putPolicy(record);
        // On a shared store the engine follows the store's revision instead (ADR 0032): applying
        // this change here could overwrite a newer one another replica made meanwhile.
        if (deps.state.policiesFresh === undefined) deps.state.policies.upsert(compiled);
        return {};
      });
    },
  });
}
