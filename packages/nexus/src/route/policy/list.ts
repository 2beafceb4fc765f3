/**
 * `POST /v1/acl/policy?action=list` — every policy, optionally filtered by exact string equality
 * on one pattern (`spiffeidPattern` wins when both are given), as SPIKE does. Each entry is the
 * full policy, like SPIKE's `[]data.Policy`.
 */
import { ACTION_LIST, decodePolicyListRequest, URL_POLICY, type PolicyListRequest } from '@spike-ts/protocol';
import type { PolicyRecord } from '@spike-ts/core';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';
import { policyView } from './policy-view.ts';

export function policyListRoute(deps: RouteDeps): Route {
  return jsonRoute<Required<PolicyListRequest>>({
    path: URL_POLICY,
    action: ACTION_LIST,
    name: 'policy.list',
    errorBody: { policies: null },
    decode: decodePolicyListRequest,
    subject: () => ({}),
    authorize: (peerId) => deps.authz.policy(peerId, 'list'),
    validate: (req) => req,
    async handle(req) {
      const all = await deps.store.listPolicies();
      let keep: (p: PolicyRecord) => boolean = () => true;
      if (req.spiffeidPattern !== '') keep = (p) => p.spiffeIdPattern === req.spiffeidPattern;
      else if (req.pathPattern !== '') keep = (p) => p.pathPattern === req.pathPattern;
      return { policies: all.filter(keep).map(policyView) };
    },
  });
}
