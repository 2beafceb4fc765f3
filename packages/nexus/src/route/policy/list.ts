/**
 * `POST /v1/acl/policy?action=list` — every policy, optionally filtered by exact string equality
 * on one pattern (`spiffeidPattern` wins when both are given), as SPIKE does. Each entry is the
 * full policy, like SPIKE's `[]data.Policy`. Damaged policy rows (they grant nothing) do not
 * fail the listing: they are counted in `damagedRows` (our additive field, present only when
 * above 0).
 */
import { POLICY_LIST } from '@spike-ts/protocol';
import type { PolicyRecord } from '@spike-ts/core';
import type { RouteDeps } from '../deps.ts';
import { damagedNames } from '../damaged/damaged.ts';
import { jsonRoute, type Route } from '../route.ts';
import { policyView } from './policy-view.ts';

export function policyListRoute(deps: RouteDeps): Route {
  return jsonRoute(POLICY_LIST, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.policy(peerId, 'list'),
    validate: (req) => req,
    async handle(req, ctx) {
      const scan = await deps.store.scanPolicies();
      deps.state.recordDamage(scan.damaged, 'policies');
      const all = scan.policies;
      let keep: (p: PolicyRecord) => boolean = () => true;
      if (req.spiffeidPattern !== '') keep = (p) => p.spiffeIdPattern === req.spiffeidPattern;
      else if (req.pathPattern !== '') keep = (p) => p.pathPattern === req.pathPattern;
      const policies = all.filter(keep).map(policyView);
      if (scan.damaged.length === 0) return { policies };
      ctx.logger.warn("policy list: damaged policy rows were left out; see 'spike operator damaged list'", {
        damagedRows: scan.damaged.length,
      });
      return { policies, damagedRows: scan.damaged.length, ...damagedNames(scan.damaged) };
    },
  });
}
