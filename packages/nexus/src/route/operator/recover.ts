/**
 * `POST /v1/operator/recover` — every Shamir share of the root key, for the break-the-glass
 * recovery files. Only the Pilot recover role; works while not ready; 400 with the memory
 * backend (no root key), as SPIKE.
 */
import { OPERATOR_RECOVER, BadRequestError } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function operatorRecoverRoute(deps: RouteDeps): Route {
  return jsonRoute(OPERATOR_RECOVER, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.recover(peerId),
    validate: (req) => req,
    handle() {
      if (deps.custody === undefined) {
        return Promise.reject(new BadRequestError('recover is not available with this backend'));
      }
      return Promise.resolve({ shards: deps.custody.recoverShards() });
    },
  });
}
