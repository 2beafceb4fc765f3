/**
 * `POST /v1/store/secrets?action=delete` — soft-delete versions (empty or 0 = current).
 * `POST /v1/store/secrets?action=undelete` — restore soft-deleted versions (empty = current, or the
 * newest deleted one when every version is deleted).
 * Both need `write` on the path and change storage only when a version actually changed.
 */
import { deleteSecretVersions, undeleteSecretVersions } from '@spike-ts/core';
import type { SecretRecord } from '@spike-ts/core';
import {
  ACTION_DELETE,
  ACTION_UNDELETE,
  decodeSecretDeleteRequest,
  decodeSecretUndeleteRequest,
  URL_SECRETS,
  validateSecretPath,
  validateVersions,
  type Action,
  type SecretDeleteRequest,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

type VersionsChange = (
  current: SecretRecord | undefined,
  versions: number[],
  now: number,
) => { record: SecretRecord; changed: boolean };

function versionsRoute(
  deps: RouteDeps,
  action: Action,
  name: string,
  decode: (body: unknown) => Required<SecretDeleteRequest>,
  change: VersionsChange,
): Route {
  return jsonRoute<Required<SecretDeleteRequest>>({
    path: URL_SECRETS,
    action,
    name,
    errorBody: {},
    decode,
    subject: (req) => ({ path: req.path }),
    authorize: (peerId, req) => deps.authz.secret(peerId, 'write', req.path),
    validate: (req) => ({ path: validateSecretPath(req.path), versions: validateVersions(req.versions) }),
    async handle(req) {
      const now = deps.now();
      await deps.store.updateSecret(req.path, (current) => {
        const outcome = change(current, req.versions, now);
        return { next: outcome.changed ? outcome.record : undefined, result: undefined };
      });
      return {};
    },
  });
}

export function secretDeleteRoute(deps: RouteDeps): Route {
  return versionsRoute(deps, ACTION_DELETE, 'secret.delete', decodeSecretDeleteRequest, deleteSecretVersions);
}

export function secretUndeleteRoute(deps: RouteDeps): Route {
  return versionsRoute(
    deps,
    ACTION_UNDELETE,
    'secret.undelete',
    decodeSecretUndeleteRequest,
    undeleteSecretVersions,
  );
}
