/**
 * `POST /v1/operator/recover` — every Shamir share of the root key, for the break-the-glass
 * recovery files. Only the Pilot recover role; works while not ready; 400 with the memory
 * backend (no root key), as SPIKE.
 */
import {
  ACTION_DEFAULT,
  BadRequestError,
  decodeSecretListRequest,
  URL_OPERATOR_RECOVER,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

/** The recover body is `{}`; like every SPIKE request, unknown fields are ignored. */
const decodeEmptyRequest = (body: unknown): Record<string, never> => decodeSecretListRequest(body);

export function operatorRecoverRoute(deps: RouteDeps): Route {
  return jsonRoute<Record<string, never>>({
    path: URL_OPERATOR_RECOVER,
    action: ACTION_DEFAULT,
    name: 'operator.recover',
    errorBody: { shards: null },
    allowWhenNotReady: true,
    decode: decodeEmptyRequest,
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
