/**
 * `POST /v1/operator/root-key/rotate` and `/v1/operator/root-key/status` (ours; ADR 0044): begin
 * an online root-key rotation and follow it. Rotation is a custody operation: the Pilot superuser,
 * the Pilot recover role (which may already export the key's shares) and admins on the people
 * door may begin it; those and auditors may follow it. No policy grants either route.
 */
import { BadRequestError, ROOT_KEY_ROTATE, ROOT_KEY_STATUS } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';
import type { RootKeyRotationService } from '../../rotation/root-key-rotation.ts';

function service(deps: RouteDeps): RootKeyRotationService {
  if (deps.rotation === undefined) throw new BadRequestError('this Nexus cannot rotate its root key');
  return deps.rotation;
}

export function rootKeyRotateRoute(deps: RouteDeps): Route {
  return jsonRoute(ROOT_KEY_ROTATE, {
    subject: () => ({}),
    authorize: (caller) => deps.authz.damagedRows(caller) || deps.authz.recover(caller),
    validate: (req) => req,
    async handle(_req, ctx) {
      const status = await service(deps).begin();
      ctx.logger.warn('root-key rotation begun by the operator', {
        caller: ctx.peerId,
        generation: status.generation,
      });
      return status;
    },
  });
}

export function rootKeyStatusRoute(deps: RouteDeps): Route {
  return jsonRoute(ROOT_KEY_STATUS, {
    subject: () => ({}),
    authorize: (caller) => deps.authz.status(caller) || deps.authz.recover(caller),
    validate: (req) => req,
    handle: () => service(deps).status(),
  });
}
