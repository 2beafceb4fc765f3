/**
 * Multi-party approval (ours, not in SPIKE; ADR 0042): the wire types, decoders and validators of
 * `POST /v1/approvals?action=request|approve|deny|cancel|get|list`. `route-table.ts` holds the
 * specs. A policy's `approval` rule (approval-rule.ts) marks paths whose operations need a grant;
 * a requester files a request, approvers (people) approve or deny it, and once enough approved the
 * requester's next matching operation uses the grant up.
 */
import { BadRequestError } from './api-error.ts';
import { validateKeyName } from './keys.ts';
import { validateSecretPath } from './validate.ts';
import type { ErrorField } from './wire.ts';

export const URL_APPROVALS = '/v1/approvals';

/** What a request asks to do: a secret's value, a write, a key use, or a policy change. */
export const APPROVAL_OPERATIONS = Object.freeze(['read', 'write', 'sign', 'decrypt', 'policy'] as const);
export type ApprovalOperation = (typeof APPROVAL_OPERATIONS)[number];

export const APPROVAL_STATUSES = Object.freeze([
  'pending',
  'approved',
  'denied',
  'expired',
  'used',
  'cancelled',
] as const);
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** Longest reason a requester gives. */
export const APPROVAL_MAX_REASON_LENGTH = 1000;
/** Longest comment an approver gives. */
export const APPROVAL_MAX_COMMENT_LENGTH = 1000;
/** Longest request id accepted (ours are 34 characters). */
export const APPROVAL_MAX_ID_LENGTH = 64;
export const APPROVAL_LIST_DEFAULT_LIMIT = 100;
export const APPROVAL_LIST_MAX_LIMIT = 1000;

// --- wire types --------------------------------------------------------------------------------

export interface ApprovalFileRequest {
  operation: string;
  /** Secret path (`read`, `write`), key name (`sign`, `decrypt`), or '' (`policy`). */
  target: string;
  reason: string;
}
export interface ApprovalDecideRequest {
  id: string;
  comment?: string;
}
export interface ApprovalIdRequest {
  id: string;
}
export interface ApprovalListRequest {
  status?: string;
  /** Only the caller's own requests. */
  mine?: boolean;
  /** 0 or absent: 100; at most 1000. */
  limit?: number;
}
export interface ApprovalVote {
  principal: string;
  at: string;
  comment?: string;
}
export interface ApprovalRequestView {
  id: string;
  /** SPIFFE ID or `user:<name>`. */
  requester: string;
  requesterKind: string;
  operation: string;
  target: string;
  reason: string;
  status: string;
  /** The most approvals any matching rule requires. */
  required: number;
  approvals: ApprovalVote[];
  denials: ApprovalVote[];
  createdAt: string;
  /** When a pending request expires. */
  expiresAt: string;
  /** Once approved: until when the grant can be used. */
  grantExpiresAt?: string;
  /** Once used: when. */
  usedAt?: string;
}
export interface ApprovalResponse extends ErrorField {
  request: ApprovalRequestView | null;
}
export interface ApprovalListResponse extends ErrorField {
  requests: ApprovalRequestView[] | null;
}

// --- decoding ----------------------------------------------------------------------------------

function fields(body: unknown, known: readonly string[]): Record<string, unknown> {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new BadRequestError('body: must be a JSON object');
  const f = body as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!known.includes(key))
      throw new BadRequestError(`body: unknown field "${key.slice(0, 40)}" (known: ${known.join(', ')})`);
  }
  return f;
}
function stringField(f: Record<string, unknown>, name: string, max: number): string {
  const v = Object.hasOwn(f, name) ? f[name] : undefined;
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new BadRequestError(`${name}: must be a string`);
  if (v.length > max) throw new BadRequestError(`${name}: at most ${max} characters`);
  return v;
}

export function decodeApprovalFileRequest(body: unknown): ApprovalFileRequest {
  const f = fields(body, ['operation', 'target', 'reason']);
  return {
    // The operation decides how the request is authorized, so it is checked before that.
    operation: validateApprovalOperation(stringField(f, 'operation', 16)),
    target: stringField(f, 'target', 1024),
    reason: stringField(f, 'reason', APPROVAL_MAX_REASON_LENGTH),
  };
}
export function decodeApprovalDecideRequest(body: unknown): ApprovalDecideRequest {
  const f = fields(body, ['id', 'comment']);
  const comment = stringField(f, 'comment', APPROVAL_MAX_COMMENT_LENGTH);
  return { id: stringField(f, 'id', APPROVAL_MAX_ID_LENGTH), ...(comment === '' ? {} : { comment }) };
}
export function decodeApprovalIdRequest(body: unknown): ApprovalIdRequest {
  return { id: stringField(fields(body, ['id']), 'id', APPROVAL_MAX_ID_LENGTH) };
}
export function decodeApprovalListRequest(body: unknown): Required<ApprovalListRequest> {
  const f = fields(body, ['status', 'mine', 'limit']);
  const mine = f['mine'] ?? false;
  if (typeof mine !== 'boolean') throw new BadRequestError('mine: must be true or false');
  const limit = f['limit'] ?? 0;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0)
    throw new BadRequestError('limit: must be an integer >= 0');
  return { status: stringField(f, 'status', 16), mine, limit };
}

// --- validation --------------------------------------------------------------------------------

export function validateApprovalOperation(operation: string): ApprovalOperation {
  if (!(APPROVAL_OPERATIONS as readonly string[]).includes(operation))
    throw new BadRequestError(`operation: must be one of ${APPROVAL_OPERATIONS.join(', ')}`);
  return operation as ApprovalOperation;
}

/** The target an operation names: a secret path, a key name, or '' for a policy change. */
export function validateApprovalTarget(operation: ApprovalOperation, target: string): string {
  switch (operation) {
    case 'read':
    case 'write':
      return validateSecretPath(target, 'target');
    case 'sign':
    case 'decrypt':
      try {
        return validateKeyName(target);
      } catch {
        throw new BadRequestError(`target: a key name (${operation} is an operation on a named key)`);
      }
    case 'policy':
      if (target !== '')
        throw new BadRequestError('target: must be empty for a policy change (it covers every policy)');
      return '';
  }
}

/** A reason of 1..1000 characters without control characters other than newline and tab. */
export function validateApprovalReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length === 0)
    throw new BadRequestError('reason: say why you need this (1..1000 characters); approvers read it');
  if (!noControl(reason) || !reason.isWellFormed())
    throw new BadRequestError('reason: no control characters other than newline and tab');
  return reason;
}

export function validateApprovalComment(comment: string | undefined): string | undefined {
  if (comment === undefined || comment === '') return undefined;
  if (!noControl(comment) || !comment.isWellFormed())
    throw new BadRequestError('comment: no control characters other than newline and tab');
  return comment;
}

const ID = /^[A-Za-z0-9_-]{22,64}$/;
/** A request id as Nexus hands it out: url-safe base64 characters. */
export function validateApprovalId(id: string): string {
  if (!ID.test(id)) throw new BadRequestError('id: a request id as spike requests list shows it');
  return id;
}

export function validateApprovalListRequest(
  req: Required<ApprovalListRequest>,
): Required<ApprovalListRequest> {
  if (req.status !== '' && !(APPROVAL_STATUSES as readonly string[]).includes(req.status))
    throw new BadRequestError(`status: must be one of ${APPROVAL_STATUSES.join(', ')}`);
  if (req.limit > APPROVAL_LIST_MAX_LIMIT)
    throw new BadRequestError(`limit: at most ${APPROVAL_LIST_MAX_LIMIT}`);
  return { ...req, limit: req.limit === 0 ? APPROVAL_LIST_DEFAULT_LIMIT : req.limit };
}

function noControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}
