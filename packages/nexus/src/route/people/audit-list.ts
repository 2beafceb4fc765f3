/**
 * `POST /v1/audit?action=list` (ours) — the newest records of this Nexus's audit file that match
 * the filters, for the Pilot superuser, admins and auditors. Only a file sink can be queried; the
 * scan reads at most the last `AUDIT_QUERY_MAX_BYTES` of the file (rotated files are not read).
 */
import { AUDIT_LIST, BadRequestError, validateAuditListRequest } from '@spike-ts/protocol';
import { queryAuditFile } from '../../audit-query.ts';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

export function auditListRoute(deps: RouteDeps): Route {
  return jsonRoute(AUDIT_LIST, {
    subject: (req) => (req.path === '' ? {} : { path: req.path }),
    authorize: (caller) => deps.authz.auditList(caller),
    validate: (req) => validateAuditListRequest(req),
    async handle(req) {
      const target = deps.config.audit;
      if (target.kind !== 'file') {
        throw new BadRequestError(
          'the audit log of this Nexus is not a file (SPIKE_NEXUS_AUDIT_LOG): there is nothing to query',
        );
      }
      const result = await queryAuditFile(target.path, {
        principal: req.principal,
        path: req.path,
        decision: req.decision,
        fromMs: req.from === '' ? undefined : Date.parse(req.from),
        toMs: req.to === '' ? undefined : Date.parse(req.to),
        limit: req.limit,
      });
      return { records: result.records, truncated: result.truncated };
    },
  });
}
