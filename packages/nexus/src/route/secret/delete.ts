/** `POST /v1/store/secrets?action=delete` — soft-delete versions (empty or 0 = current). */
import { deleteSecretVersions } from '@spike-ts/core';
import {
  ACTION_DELETE,
  decodeSecretDeleteRequest,
  URL_SECRETS,
  validateSecretPath,
  validateVersions,
  type SecretDeleteRequest,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretDeleteRoute(deps: RouteDeps): Route {
  return jsonRoute<Required<SecretDeleteRequest>>({
    path: URL_SECRETS,
    action: ACTION_DELETE,
    name: 'secret.delete',
    errorBody: {},
    decode: decodeSecretDeleteRequest,
    subject: (req) => ({ path: req.path }),
    authorize: (peerId, req) => deps.authz.secret(peerId, 'write', req.path),
    validate: (req) => ({ path: validateSecretPath(req.path), versions: validateVersions(req.versions) }),
    async handle(req) {
      const now = deps.now();
      await deps.store.updateSecret(req.path, (current) => {
        const change = deleteSecretVersions(current, req.versions, now);
        return { next: change.changed ? change.record : undefined, result: undefined };
      });
      return {};
    },
  });
}
