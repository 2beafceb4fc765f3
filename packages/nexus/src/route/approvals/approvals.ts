/**
 * `POST /v1/approvals?action=request|approve|deny|cancel|get|list` (ours; ADR 0042). Filing a
 * request is authorized as the operation it asks for (before anything is looked up); approving
 * and denying are for people only (which people: the request's rules, checked by the service);
 * get, cancel and list answer only what concerns the caller (admins, auditors and the Pilot
 * superuser see every request).
 */
import {
  APPROVAL_APPROVE,
  APPROVAL_CANCEL,
  APPROVAL_DENY,
  APPROVAL_GET,
  APPROVAL_LIST,
  APPROVAL_REQUEST,
  validateApprovalComment,
  validateApprovalId,
  validateApprovalListRequest,
  validateApprovalOperation,
  validateApprovalReason,
  validateApprovalTarget,
  type ApprovalOperation,
} from '@spike-ts/protocol';
import type { Caller } from '@spike-ts/core';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

/** Whether `caller` may do `operation` on `target` at all (the request is authorized as it). */
function mayDo(deps: RouteDeps, caller: Caller, operation: string, target: string): boolean {
  switch (operation) {
    case 'read':
      return deps.authz.secretValue(caller, target);
    case 'write':
      return deps.authz.secret(caller, 'write', target);
    case 'sign':
      return deps.authz.key(caller, 'sign', target);
    case 'decrypt':
      return deps.authz.key(caller, 'decrypt', target);
    case 'policy':
      return deps.authz.policy(caller, 'write');
    default:
      return false;
  }
}

export function approvalRoutes(deps: RouteDeps): Route[] {
  // Admins, auditors and the Pilot superuser see every request (as they may query the audit log).
  const seesAll = (caller: Caller): boolean => deps.authz.auditList(caller);
  const decide = (spec: typeof APPROVAL_APPROVE, verdict: 'approve' | 'deny'): Route =>
    jsonRoute(spec, {
      subject: (req) => ({ approval: req.id }),
      // Approvers are always people; which people is the request's business (the service).
      authorize: (caller) => caller.kind === 'person',
      validate: (req) => {
        const comment = validateApprovalComment(req.comment);
        return { id: validateApprovalId(req.id), ...(comment === undefined ? {} : { comment }) };
      },
      async handle(req, ctx) {
        const request = await deps.approvals.decide(ctx.caller, req.id, verdict, req.comment);
        ctx.note({ operation: request.operation, approvalStatus: request.status });
        return { request };
      },
    });
  return [
    jsonRoute(APPROVAL_REQUEST, {
      subject: (req) => (req.target === '' ? {} : { path: req.target }),
      authorize: (caller, req) => mayDo(deps, caller, req.operation, req.target),
      validate: (req) => {
        const operation = validateApprovalOperation(req.operation);
        return {
          operation,
          target: validateApprovalTarget(operation, req.target),
          reason: validateApprovalReason(req.reason),
        };
      },
      async handle(req, ctx) {
        const operation = req.operation as ApprovalOperation;
        const request = await deps.approvals.file(ctx.caller, operation, req.target, req.reason);
        ctx.note({ approval: request.id, operation, approvalStatus: request.status });
        return { request };
      },
    }),
    decide(APPROVAL_APPROVE, 'approve'),
    decide(APPROVAL_DENY, 'deny'),
    jsonRoute(APPROVAL_CANCEL, {
      subject: (req) => ({ approval: req.id }),
      authorize: () => true,
      validate: (req) => ({ id: validateApprovalId(req.id) }),
      async handle(req, ctx) {
        const request = await deps.approvals.cancel(ctx.caller, req.id, seesAll(ctx.caller));
        ctx.note({ operation: request.operation, approvalStatus: request.status });
        return { request };
      },
    }),
    jsonRoute(APPROVAL_GET, {
      subject: (req) => ({ approval: req.id }),
      authorize: () => true,
      validate: (req) => ({ id: validateApprovalId(req.id) }),
      async handle(req, ctx) {
        return { request: await deps.approvals.get(ctx.caller, req.id, seesAll(ctx.caller)) };
      },
    }),
    jsonRoute(APPROVAL_LIST, {
      subject: () => ({}),
      authorize: () => true,
      validate: validateApprovalListRequest,
      async handle(req, ctx) {
        return { requests: await deps.approvals.list(ctx.caller, req, seesAll(ctx.caller)) };
      },
    }),
  ];
}
