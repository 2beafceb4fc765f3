/**
 * `POST /v1/store/secrets?action=delete` — soft-delete versions (empty or 0 = current).
 * `POST /v1/store/secrets?action=undelete` — restore soft-deleted versions (empty = current, or the
 * newest deleted one when every version is deleted).
 * Both need `write` on the path and change storage only when a version actually changed.
 */
import { deleteSecretVersions, undeleteSecretVersions } from '@spike-ts/core';
import type { SecretRecord } from '@spike-ts/core';
import {
  SECRET_DELETE,
  SECRET_UNDELETE,
  validateSecretPath,
  validateVersions,
  type RouteSpec,
  type SecretDeleteRequest,
  type SecretDeleteResponse,
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
  spec: RouteSpec<SecretDeleteRequest, Required<SecretDeleteRequest>, SecretDeleteResponse>,
  change: VersionsChange,
): Route {
  return jsonRoute(spec, {
    subject: (req) => ({ path: req.path }),
    authorize: (peerId, req) => deps.authz.secret(peerId, 'write', req.path),
    validate: (req) => ({ path: validateSecretPath(req.path), versions: validateVersions(req.versions) }),
    async handle(req, ctx) {
      // Deleting and undeleting are writes to approval rules (ADR 0042).
      await deps.approvals.enforce(ctx.caller, 'write', req.path, ctx.note);
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
  return versionsRoute(deps, SECRET_DELETE, deleteSecretVersions);
}

export function secretUndeleteRoute(deps: RouteDeps): Route {
  return versionsRoute(deps, SECRET_UNDELETE, undeleteSecretVersions);
}
