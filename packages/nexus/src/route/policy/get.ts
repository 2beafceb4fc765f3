/** `POST /v1/acl/policy?action=get` — read a policy; the name travels in `id`. */
import { POLICY_GET, validatePolicyName } from '@spike-ts/protocol';
import { NotFoundError } from '@spike-ts/core';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';
import { policyView } from './policy-view.ts';

export function policyGetRoute(deps: RouteDeps): Route {
  return jsonRoute(POLICY_GET, {
    subject: (req) => ({ policy: req.id }),
    authorize: (peerId) => deps.authz.policy(peerId, 'read'),
    validate: (req) => ({ id: validatePolicyName(req.id, 'id') }),
    async handle(req) {
      const policy = await deps.store.getPolicy(req.id);
      if (policy === undefined) throw new NotFoundError('policy not found');
      return policyView(policy);
    },
  });
}
