/** `POST /v1/store/secrets?action=get` — read a live version (0 = current). */
import { readLiveVersion } from '@spike-ts/core';
import { SECRET_GET, validateSecretPath } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretGetRoute(deps: RouteDeps): Route {
  return jsonRoute(SECRET_GET, {
    subject: (req) => ({ path: req.path }),
    // The value itself: auditors and workloads-only paths are refused to people (ADR 0036).
    authorize: (caller, req) => deps.authz.secretValue(caller, req.path),
    validate: (req) => ({ path: validateSecretPath(req.path), version: req.version }),
    async handle(req, ctx) {
      // A policy's approval rule may ask for a grant first (ADR 0042); one boolean when none has.
      await deps.approvals.enforce(ctx.caller, 'read', req.path, ctx.note);
      // Opens only the asked-for version, however many the secret keeps.
      const read = await deps.store.getSecretVersion(req.path, req.version);
      return { data: readLiveVersion(read, req.version) };
    },
  });
}
