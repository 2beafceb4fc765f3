/**
 * `POST /v1/operator/status` (ours, not SPIKE's) — what an operator asks first: this Nexus's
 * version, whether it is ready, the state of the root key, the Shamir settings and what the last
 * push or heartbeat saw of each keeper. Pilot superuser only; answered while not ready. It
 * reveals no secret, share or key material.
 */
import { OPERATOR_STATUS } from '@spike-ts/protocol';
import { NEXUS_VERSION } from '../../help.ts';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function operatorStatusRoute(deps: RouteDeps): Route {
  return jsonRoute(OPERATOR_STATUS, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.status(peerId),
    validate: (req) => req,
    handle() {
      const ready = deps.state.isReady();
      const memory = deps.config.backend === 'memory';
      return Promise.resolve({
        version: NEXUS_VERSION,
        ready,
        backend: deps.config.backend,
        rootKey: memory ? 'none' : ready ? 'installed' : 'missing',
        shares: memory ? 0 : deps.config.shamirShares,
        threshold: memory ? 0 : deps.config.shamirThreshold,
        keepers: memory
          ? []
          : (
              deps.custody?.keeperStates?.() ??
              deps.config.keeperPeers.map((url) => ({ url, state: 'unknown' }))
            ).map((k) => ({ url: k.url, state: k.state })),
      });
    },
  });
}
