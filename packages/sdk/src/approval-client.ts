/**
 * @module approval-client
 * SDK methods for multi-party approval on a SPIKE-TS Nexus (ours, not SPIKE's; ADR 0042): file a
 * request for an operation a policy's approval rule gates, approve or deny one (people), cancel
 * one's own, read one, list them. A gated operation without a grant fails with
 * `SpikeApprovalRequiredError`; once a request is approved, the same operation by the same caller
 * on the same target goes through once (the grant is used up implicitly).
 */
import {
  APPROVAL_APPROVE,
  APPROVAL_CANCEL,
  APPROVAL_DENY,
  APPROVAL_GET,
  APPROVAL_LIST,
  APPROVAL_OPERATIONS,
  APPROVAL_REQUEST,
  BadRequestError,
  validateApprovalComment,
  validateApprovalId,
  validateApprovalListRequest,
  validateApprovalOperation,
  validateApprovalReason,
  validateApprovalTarget,
  type ApprovalOperation,
  type ApprovalStatus,
  type ResponseBody,
  type RouteSpec,
} from '@spike-ts/protocol';
import { SpikeBadRequestError, SpikeError } from './spike-error.ts';

export interface ApprovalVoteInfo {
  readonly principal: string;
  /** RFC 3339 */
  readonly at: string;
  readonly comment?: string;
}

/** One approval request as Nexus reports it. */
export interface ApprovalRequestInfo {
  readonly id: string;
  /** The requester's SPIFFE ID or `user:<name>`. */
  readonly requester: string;
  readonly requesterKind: 'workload' | 'person';
  readonly operation: ApprovalOperation;
  /** Secret path or key name; '' for a policy change. */
  readonly target: string;
  readonly reason: string;
  readonly status: ApprovalStatus;
  /** Approvals needed (the largest any matching rule asks for). */
  readonly required: number;
  readonly approvals: readonly ApprovalVoteInfo[];
  readonly denials: readonly ApprovalVoteInfo[];
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly grantExpiresAt?: string;
  readonly usedAt?: string;
}

export interface ApprovalListFilter {
  readonly status?: ApprovalStatus;
  /** Only my own requests. */
  readonly mine?: boolean;
  /** Default 100, at most 1000. */
  readonly limit?: number;
}

export interface ApprovalMethods {
  /**
   * File a request for `operation` on `target` (a secret path for `read`/`write`, a key name for
   * `sign`/`decrypt`, '' for `policy`). Needs permission for the operation itself; an operation no
   * rule gates is refused (400). An open request for the same thing is answered instead of a new one.
   */
  request(operation: ApprovalOperation, target: string, reason: string): Promise<ApprovalRequestInfo>;
  /** Approve a pending request (people named by its rules, never the requester). */
  approve(id: string, comment?: string): Promise<ApprovalRequestInfo>;
  /** Deny a pending request: it ends at once. */
  deny(id: string, comment?: string): Promise<ApprovalRequestInfo>;
  /** Withdraw one's own pending or approved request. */
  cancel(id: string): Promise<ApprovalRequestInfo>;
  get(id: string): Promise<ApprovalRequestInfo>;
  /** Requests I filed or may approve (admins, auditors, the Pilot superuser: all), newest first. */
  list(filter?: ApprovalListFilter): Promise<ApprovalRequestInfo[]>;
}

type Answer<Res> = { readonly [K in keyof ResponseBody<Res>]?: unknown };
type Post = <Req, Decoded, Res>(spec: RouteSpec<Req, Decoded, Res>, body: Req) => Promise<Answer<Res>>;

function check<T>(argument: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BadRequestError) throw new SpikeBadRequestError(err.detail, 0, argument);
    throw err;
  }
}

function malformed(): SpikeError {
  return new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed approval answer.');
}
function str(o: Record<string, unknown>, f: string): string {
  const v = o[f];
  if (typeof v !== 'string') throw malformed();
  return v;
}
function optStr(o: Record<string, unknown>, f: string): string | undefined {
  const v = o[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw malformed();
  return v;
}
function votes(o: Record<string, unknown>, f: string): ApprovalVoteInfo[] {
  const v = o[f];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformed();
  return v.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) throw malformed();
    const x = item as Record<string, unknown>;
    const comment = optStr(x, 'comment');
    return {
      principal: str(x, 'principal'),
      at: str(x, 'at'),
      ...(comment === undefined ? {} : { comment }),
    };
  });
}

function readRequest(value: unknown): ApprovalRequestInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed();
  const o = value as Record<string, unknown>;
  const operation = str(o, 'operation');
  if (!(APPROVAL_OPERATIONS as readonly string[]).includes(operation)) throw malformed();
  const kind = str(o, 'requesterKind');
  if (kind !== 'workload' && kind !== 'person') throw malformed();
  const required = o['required'];
  if (typeof required !== 'number' || !Number.isSafeInteger(required)) throw malformed();
  const grantExpiresAt = optStr(o, 'grantExpiresAt');
  const usedAt = optStr(o, 'usedAt');
  return {
    id: str(o, 'id'),
    requester: str(o, 'requester'),
    requesterKind: kind,
    operation: operation as ApprovalOperation,
    target: str(o, 'target'),
    reason: str(o, 'reason'),
    status: str(o, 'status') as ApprovalStatus,
    required,
    approvals: votes(o, 'approvals'),
    denials: votes(o, 'denials'),
    createdAt: str(o, 'createdAt'),
    expiresAt: str(o, 'expiresAt'),
    ...(grantExpiresAt === undefined ? {} : { grantExpiresAt }),
    ...(usedAt === undefined ? {} : { usedAt }),
  };
}

export function createApprovalMethods(post: Post): ApprovalMethods {
  const one = (res: { readonly request?: unknown }): ApprovalRequestInfo => readRequest(res.request);
  const id = (value: string): string => check('id', () => validateApprovalId(value));
  const decide = async (
    spec: typeof APPROVAL_APPROVE,
    requestId: string,
    comment: string | undefined,
  ): Promise<ApprovalRequestInfo> => {
    const c = check('comment', () => validateApprovalComment(comment));
    return one(await post(spec, { id: id(requestId), ...(c === undefined ? {} : { comment: c }) }));
  };
  return {
    async request(operation, target, reason) {
      const op = check('operation', () => validateApprovalOperation(operation));
      const body = {
        operation: op,
        target: check('target', () => validateApprovalTarget(op, target)),
        reason: check('reason', () => validateApprovalReason(reason)),
      };
      return one(await post(APPROVAL_REQUEST, body));
    },
    approve: (requestId, comment) => decide(APPROVAL_APPROVE, requestId, comment),
    deny: (requestId, comment) => decide(APPROVAL_DENY, requestId, comment),
    async cancel(requestId) {
      return one(await post(APPROVAL_CANCEL, { id: id(requestId) }));
    },
    async get(requestId) {
      return one(await post(APPROVAL_GET, { id: id(requestId) }));
    },
    async list(filter = {}) {
      const body = check('filter', () =>
        validateApprovalListRequest({
          status: filter.status ?? '',
          mine: filter.mine ?? false,
          limit: filter.limit ?? 0,
        }),
      );
      const res = await post(APPROVAL_LIST, {
        ...(body.status === '' ? {} : { status: body.status }),
        ...(body.mine ? { mine: true } : {}),
        limit: body.limit,
      });
      const list = res.requests;
      if (list === undefined || list === null) return [];
      if (!Array.isArray(list)) throw malformed();
      return list.map(readRequest);
    },
  };
}
