/**
 * `POST /v1/auth/whoami` (ours, ADR 0035) — who the caller is to this Nexus, on either door: a
 * workload's SPIFFE ID and SPIKE role, or a person's principal, groups and role. Any verified
 * caller may ask (it tells the caller only about itself); answered while not ready too.
 */
import { AUTH_WHOAMI, type ResponseBody, type WhoamiResponse } from '@spike-ts/protocol';
import { spikeRoleOf, type SpikeRole } from '@spike-ts/identity';
import { NEXUS_VERSION } from '../../help.ts';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

/** The names `whoami` gives SPIKE's roles (the same as the metrics' `role` label). */
const ROLE_NAMES: Readonly<Record<SpikeRole, string>> = {
  nexus: 'nexus',
  keeper: 'keeper',
  bootstrap: 'bootstrap',
  'pilot/role/superuser': 'superuser',
  'pilot/role/recover': 'recover',
  'pilot/role/restore': 'restore',
  'workload/role/lite': 'lite_workload',
};

export function whoamiRoute(deps: RouteDeps): Route {
  return jsonRoute(AUTH_WHOAMI, {
    subject: () => ({}),
    authorize: () => true,
    validate: (req) => req,
    handle(_req, ctx): Promise<ResponseBody<WhoamiResponse>> {
      const caller = ctx.caller;
      if (caller.kind === 'person') {
        return Promise.resolve({
          principal: caller.principal,
          kind: 'person' as const,
          groups: [...caller.groups],
          role: caller.role,
          door: ctx.door,
          nexusVersion: NEXUS_VERSION,
        });
      }
      const role = spikeRoleOf(caller.spiffeId, deps.config.trustRoots);
      return Promise.resolve({
        principal: caller.spiffeId,
        kind: 'workload' as const,
        groups: [],
        role: role === undefined ? 'workload' : ROLE_NAMES[role],
        door: ctx.door,
        nexusVersion: NEXUS_VERSION,
      });
    },
  });
}
