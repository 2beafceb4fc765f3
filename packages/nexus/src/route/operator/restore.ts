/**
 * `POST /v1/operator/restore` — accept one Shamir share from the operator; when enough have
 * arrived the custody layer rebuilds and installs the root key. Only the Pilot restore role;
 * works while not ready; 400 with the memory backend, as SPIKE. The share is zeroed after use.
 */
import { OPERATOR_RESTORE, BadRequestError, SHARD_SIZE } from '@spike-ts/protocol';
import { zeroize } from '@spike-ts/core';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function operatorRestoreRoute(deps: RouteDeps): Route {
  return jsonRoute(OPERATOR_RESTORE, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.restore(peerId),
    validate(req) {
      if (req.id < 1 || req.id > deps.config.shamirMaxShareCount) {
        throw new BadRequestError('id: must be between 1 and SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT');
      }
      if (req.shard === null || req.shard.length !== SHARD_SIZE) {
        throw new BadRequestError(`shard: must be ${String(SHARD_SIZE)} integers`);
      }
      if (req.shard.every((b) => b === 0)) throw new BadRequestError('shard: must not be all zero');
      return req;
    },
    async handle(req) {
      if (deps.custody === undefined) throw new BadRequestError('restore is not available with this backend');
      const shard = req.shard ?? new Uint8Array(0);
      const result = await deps.custody.restoreShard(req.id, shard);
      return { collected: result.collected, remaining: result.remaining, restored: result.restored };
    },
    dispose: (req) => zeroize(req.shard),
  });
}
