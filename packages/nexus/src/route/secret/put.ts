/** `POST /v1/store/secrets` — write a new version of a secret. */
import { putSecretVersion } from '@spike-ts/core';
import { SECRET_PUT, validateSecretPath, validateSecretValues } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretPutRoute(deps: RouteDeps): Route {
  return jsonRoute(SECRET_PUT, {
    subject: (req) => ({ path: req.path }),
    authorize: (peerId, req) => deps.authz.secret(peerId, 'write', req.path),
    validate: (req) => ({
      path: validateSecretPath(req.path),
      values: { ...validateSecretValues(req.values) },
    }),
    async handle(req, ctx) {
      await deps.approvals.enforce(ctx.caller, 'write', req.path, ctx.note);
      const now = deps.now();
      await deps.store.updateSecret(req.path, (current) => ({
        next: putSecretVersion(current, req.path, req.values, now, deps.config.maxSecretVersions),
        result: undefined,
      }));
      return {};
    },
  });
}
