/**
 * The error spine. Every error a route may answer with a JSON error body is an `ApiError`: it
 * carries one stable wire code (`ERROR_CODES` gives its HTTP status), and servers map a thrown
 * error by that code alone (`wireCodeOf`), never by walking a chain of classes. Anything else that
 * escapes a route is a server fault and is answered 500 `api_internal_error`.
 *
 * There is one class per code, so each answer has one way to be raised. To add an error: add its
 * code to `ERROR_CODES` (error-code.ts), add a class here, and list the code in the `errors` of
 * every route spec that can raise it (route-table.ts). `detail` is for server logs and CLI
 * messages only; the wire carries the code and nothing else.
 *
 * Lower layers (core, store, the Nexus state) throw these classes or subclass them, so no layer
 * needs to import the HTTP code of the server to say "this is the caller's mistake".
 */
import { ERROR_CODES, ErrorCode, isErrorCode } from './error-code.ts';

/** Marks spine errors, so a copy of this module loaded twice still recognizes them. */
const SPINE = Symbol.for('spike-ts.api-error');

export abstract class ApiError extends Error {
  abstract readonly code: ErrorCode;
  /** What went wrong, for logs; never secret values and never echoed input. */
  readonly detail: string;
  readonly [SPINE] = true;

  constructor(detail: string, options?: ErrorOptions) {
    super(detail, options);
    this.detail = detail;
  }

  /** The HTTP status of `code`. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** True for every spine error (any subclass of `ApiError`). */
export function isApiError(err: unknown): err is ApiError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { [SPINE]?: unknown })[SPINE] === true &&
    isErrorCode((err as { code?: unknown }).code)
  );
}

/** The wire code a thrown value is answered with: its own code, or `api_internal_error`. */
export function wireCodeOf(err: unknown): ErrorCode {
  return isApiError(err) ? err.code : ErrorCode.Internal;
}

/** 400 `api_bad_request`: the request is malformed or breaks a rule. `detail` names the field. */
export class BadRequestError extends ApiError {
  override readonly name: string = 'BadRequestError';
  readonly code: typeof ErrorCode.BadRequest = ErrorCode.BadRequest;
}

/** 404 `api_not_found`: the secret, the requested version of it, or the policy does not exist. */
export class NotFoundError extends ApiError {
  override readonly name: string = 'NotFoundError';
  readonly code: typeof ErrorCode.NotFound = ErrorCode.NotFound;
  constructor(detail = 'not found', options?: ErrorOptions) {
    super(detail, options);
  }
}

/** 503 `state_not_ready`: there is no root key yet (the store is locked). Retry later. */
export class NotReadyError extends ApiError {
  override readonly name: string = 'NotReadyError';
  readonly code: typeof ErrorCode.NotReady = ErrorCode.NotReady;
  constructor(detail = 'no root key is installed yet', options?: ErrorOptions) {
    super(detail, options);
  }
}

/**
 * 500 `api_outcome_unknown`: a write's COMMIT was sent to the database and no answer came back
 * (the connection broke, the server went away): it may have been applied. Never retried or sent to
 * another Nexus by our clients; the caller checks before writing again (ADR 0032).
 */
export class OutcomeUnknownError extends ApiError {
  override readonly name: string = 'OutcomeUnknownError';
  readonly code: typeof ErrorCode.OutcomeUnknown = ErrorCode.OutcomeUnknown;
}

/** 413 `api_body_too_large`: the request body exceeds the configured limit. */
export class BodyTooLargeError extends ApiError {
  override readonly name: string = 'BodyTooLargeError';
  readonly code: typeof ErrorCode.BodyTooLarge = ErrorCode.BodyTooLarge;
  readonly limit: number;
  constructor(limit: number) {
    super(`request body exceeds ${String(limit)} bytes`);
    this.limit = limit;
  }
}

/**
 * 401 `access_unauthorized` raised by a handler after the route's own authorization passed, where
 * the answer depends on what was looked up (ours: approving a request one may not approve).
 */
export class AccessDeniedError extends ApiError {
  override readonly name: string = 'AccessDeniedError';
  readonly code: typeof ErrorCode.Unauthorized = ErrorCode.Unauthorized;
}

/**
 * 403 `approval_required` (ours, ADR 0042): the caller may do this, but a policy's approval rule
 * asks for a grant first, and the caller holds no usable one for this exact operation and target.
 */
export class ApprovalRequiredError extends ApiError {
  override readonly name: string = 'ApprovalRequiredError';
  readonly code: typeof ErrorCode.ApprovalRequired = ErrorCode.ApprovalRequired;
}

/**
 * 500 `api_internal_error` raised on purpose: where SPIKE answers a request it could not carry
 * out with 500 (a ciphertext that does not authenticate), we do the same, deliberately.
 */
export class InternalError extends ApiError {
  override readonly name: string = 'InternalError';
  readonly code: typeof ErrorCode.Internal = ErrorCode.Internal;
}

/** Codes the cipher routes write as a plain-text body in stream mode (SPIKE's `http.Error`). */
export const StreamErrorCode = {
  UnsupportedVersion: 'crypto_unsupported_version',
  FailedToReadVersion: 'crypto_failed_to_read_version',
  FailedToReadNonce: 'crypto_failed_to_read_nonce',
  DecryptionFailed: 'crypto_decryption_failed',
  BadRequest: 'api_bad_request',
} as const;
export type StreamErrorCode = (typeof StreamErrorCode)[keyof typeof StreamErrorCode];

/** Every stream-mode error is 400 in SPIKE. */
export const STREAM_ERROR_STATUS = 400;

/**
 * A stream-mode cipher failure: answered as a plain-text body holding `code` and a newline, with
 * status 400. Not an `ApiError`: its body is not the route's JSON error body.
 */
export class PlainTextError extends Error {
  override readonly name = 'PlainTextError';
  readonly code: StreamErrorCode;
  readonly status: number = STREAM_ERROR_STATUS;
  constructor(code: StreamErrorCode, detail?: string, options?: ErrorOptions) {
    super(detail ?? code, options);
    this.code = code;
  }
}
