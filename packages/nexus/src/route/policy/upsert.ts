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
  validateSpiffeIdPattern,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function policyUpsertRoute(deps: RouteDeps): Route {
  return jsonRoute(POLICY_UPSERT, {
    subject: (req) => ({ policy: req.name }),
    authorize: (peerId) => deps.authz.policy(peerId, 'write'),
    validate: (req) => ({
      name: validatePolicyName(req.name),
      spiffeidPattern: validateSpiffeIdPattern(req.spiffeidPattern),
      pathPattern: validatePathPattern(req.pathPattern),
      permissions: validatePermissions(req.permissions),
    }),
    handle: (req) =>
      deps.policyQueue.run(async () => {
        const existing = await deps.store.getPolicy(req.name);
        const now = deps.now();
        const record: PolicyRecord = {
          name: req.name,
          spiffeIdPattern: req.spiffeidPattern,
          pathPattern: req.pathPattern,
          permissions: validatePermissions(req.permissions),
          createdTime: existing?.createdTime ?? now,
          updatedTime: now,
        };
        const compiled = compilePolicy(record);
        const rule = checkReservedPathRule(compiled);
        if (!rule.ok) throw new InvalidPolicyError(rule.reason);
        await deps.store.putPolicy(record);
        // On a shared store the engine follows the store's revision instead (ADR 0032): applying
        // this change here could overwrite a newer one another replica made meanwhile.
        if (deps.state.policiesFresh === undefined) deps.state.policies.upsert(compiled);
        return {};
      }),
  });
}
