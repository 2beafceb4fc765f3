/** `POST /v1/store/secrets?action=get` — read a live version (0 = current). */
import { readLiveVersion } from '@spike-ts/core';
import { SECRET_GET, validateSecretPath } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretGetRoute(deps: RouteDeps): Route {
  return jsonRoute(SECRET_GET, {
    subject: (req) => ({ path: req.path }),
    authorize: (peerId, req) => deps.authz.secret(peerId, 'read', req.path),
    validate: (req) => ({ path: validateSecretPath(req.path), version: req.version }),
    async handle(req) {
      // Opens only the asked-for version, however many the secret keeps.
      const read = await deps.store.getSecretVersion(req.path, req.version);
      return { data: readLiveVersion(read, req.version) };
    },
  });
}
