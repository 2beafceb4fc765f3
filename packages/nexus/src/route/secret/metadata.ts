/** `POST /v1/store/secrets/metadata?action=get` — version metadata keyed by real version numbers. */
import { secretMetadataView } from '@spike-ts/core';
import {
  ACTION_GET,
  decodeSecretMetadataRequest,
  URL_SECRETS_METADATA,
  validateSecretPath,
  type SecretMetadataRequest,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretMetadataRoute(deps: RouteDeps): Route {
  return jsonRoute<Required<SecretMetadataRequest>>({
    path: URL_SECRETS_METADATA,
    action: ACTION_GET,
    name: 'secret.metadata',
    errorBody: { versions: null, metadata: null },
    decode: decodeSecretMetadataRequest,
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
