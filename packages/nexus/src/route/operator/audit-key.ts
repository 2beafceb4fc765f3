/**
 * `POST /v1/operator/audit-key` (ours, not SPIKE's) — the public key that verifies this Nexus's
 * audit checkpoints and the last checkpoint it wrote, for `spike audit public-key` and
 * `spike audit verify` (ADR 0040). Pilot superuser only; answered while not ready. The private
 * key never leaves the process.
 */
import { BadRequestError, OPERATOR_AUDIT_KEY } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function operatorAuditKeyRoute(deps: RouteDeps): Route {
  return jsonRoute(OPERATOR_AUDIT_KEY, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.status(peerId),
    validate: (req) => req,
    handle() {
      const chain = deps.auditChain;
      if (chain === undefined) {
        return Promise.reject(
          new BadRequestError('the audit trail is off (SPIKE_NEXUS_AUDIT_LOG=off): there is no audit key'),
        );
      }
      return Promise.resolve({
        publicKey: chain.publicKeyPem,
        keyId: chain.keyId,
        checkpoint: chain.lastCheckpoint(),
      });
    },
  });
}
