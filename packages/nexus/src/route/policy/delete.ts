/** `POST /v1/acl/policy?action=delete` — delete a policy by name; missing → 404. */
import { POLICY_DELETE, validatePolicyName } from '@spike-ts/protocol';
import { NotFoundError } from '@spike-ts/core';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function policyDeleteRoute(deps: RouteDeps): Route {
  return jsonRoute(POLICY_DELETE, {
    subject: (req) => ({ policy: req.id }),
    authorize: (peerId) => deps.authz.policy(peerId, 'write'),
    validate: (req) => ({ id: validatePolicyName(req.id, 'id') }),
    handle: async (req, ctx) => {
      await deps.approvals.enforce(ctx.caller, 'policy', '', ctx.note);
      return await deps.policyQueue.run(async () => {
        const removed = await deps.store.deletePolicy(req.id);
        if (deps.state.policiesFresh === undefined) deps.state.policies.remove(req.id);
        if (!removed) throw new NotFoundError('policy not found');
        return {};
      });
    },
  });
}
