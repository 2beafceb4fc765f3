/**
 * `POST /v1/store/secrets?action=list` — every secret path, sorted (as SPIKE does). Damaged
 * secret rows do not fail the listing: the readable paths are listed and the damaged rows are
 * counted in `damagedRows` (our additive field, present only when above 0; their names, when
 * known, go to the damaged-row route and the log).
 */
import { SECRET_LIST } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { damagedNames } from '../damaged/damaged.ts';
import { isApprovalStorePath } from '../../approvals/approval-service.ts';
import { isKeyStorePath } from '../../keys/key-service.ts';
import { jsonRoute, type Route } from '../route.ts';

export function secretListRoute(deps: RouteDeps): Route {
  return jsonRoute(SECRET_LIST, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.secretList(peerId),
    validate: (req) => req,
    async handle(_req, ctx) {
      const scan = await deps.store.scanSecretPaths();
      deps.state.recordDamage(scan.damaged, 'secrets');
      // Named keys (ADR 0039) and approval requests (ADR 0042) live in the same store under
      // namespaces secret routes never show.
      const keys = scan.paths
        .filter((p) => !isKeyStorePath(p) && !isApprovalStorePath(p))
        .sort(compareStrings);
      if (scan.damaged.length === 0) return { keys };
      ctx.logger.warn("secret list: damaged secret rows were left out; see 'spike operator damaged list'", {
        damagedRows: scan.damaged.length,
      });
      return { keys, damagedRows: scan.damaged.length, ...damagedNames(scan.damaged) };
    },
  });
}

/** Byte-order comparison (Go's `sort.Strings`), not locale order. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
