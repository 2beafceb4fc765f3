/**
 * `POST /v1/store/secrets/metadata?action=get` — version metadata keyed by real version numbers.
 * Error bodies have SPIKE's shape (`SECRET_METADATA.errorBody`): no `versions`, a zeroed `metadata`.
 */
import { secretMetadataView } from '@spike-ts/core';
import { SECRET_METADATA, validateSecretPath } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretMetadataRoute(deps: RouteDeps): Route {
  return jsonRoute(SECRET_METADATA, {
    subject: (req) => ({ path: req.path }),
    authorize: (peerId, req) => deps.authz.secret(peerId, 'read', req.path),
    validate: (req) => ({ path: validateSecretPath(req.path), version: req.version }),
    async handle(req) {
      const record = await deps.store.getSecret(req.path);
      const view = secretMetadataView(record, req.version);
      return { versions: view.versions, metadata: view.metadata };
    },
  });
}
