/**
 * `POST /v1/store/secrets/metadata?action=get` — version metadata keyed by real version numbers.
 * Error bodies have SPIKE's shape: no `versions` (Go omits the empty map) and a zeroed `metadata`.
 */
import { secretMetadataView } from '@spike-ts/core';
import {
  ACTION_GET,
  decodeSecretMetadataRequest,
  URL_SECRETS_METADATA,
  validateSecretPath,
  type SecretMetadataRequest,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { GO_ZERO_TIME } from '../policy/policy-view.ts';
import { jsonRoute, type Route } from '../route.ts';

/** SPIKE's `SecretMetadataResponse` with every field zeroed, as encoding/json writes it. */
const METADATA_ERROR_BODY: Readonly<Record<string, unknown>> = Object.freeze({
  metadata: Object.freeze({
    currentVersion: 0,
    oldestVersion: 0,
    createdTime: GO_ZERO_TIME,
    updatedTime: GO_ZERO_TIME,
    maxVersions: 0,
  }),
});

export function secretMetadataRoute(deps: RouteDeps): Route {
  return jsonRoute<Required<SecretMetadataRequest>>({
    path: URL_SECRETS_METADATA,
    action: ACTION_GET,
    name: 'secret.metadata',
    errorBody: METADATA_ERROR_BODY,
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
