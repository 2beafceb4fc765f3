/** `POST /v1/store/secrets?action=undelete` — restore soft-deleted versions. */
import { undeleteSecretVersions } from '@spike-ts/core';
import {
  ACTION_UNDELETE,
  decodeSecretUndeleteRequest,
  URL_SECRETS,
  validateSecretPath,
  validateVersions,
  type SecretUndeleteRequest,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretUndeleteRoute(deps: RouteDeps): Route {
  return jsonRoute<Required<SecretUndeleteRequest>>({
    path: URL_SECRETS,
    action: ACTION_UNDELETE,
    name: 'secret.undelete',
    errorBody: {},
    decode: decodeSecretUndeleteRequest,
    subject: (req) => ({ path: req.path }),
    authorize: (peerId, req) => deps.authz.secret(peerId, 'write', req.path),
    validate: (req) => ({ path: validateSecretPath(req.path), versions: validateVersions(req.versions) }),
    async handle(req) {
      const now = deps.now();
      await deps.store.updateSecret(req.path, (current) => {
        const change = undeleteSecretVersions(current, req.versions, now);
        return { next: change.changed ? change.record : undefined, result: undefined };
      });
      return {};
    },
  });
}
