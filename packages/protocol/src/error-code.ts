/**
 * The wire error codes. A JSON error body is the route's response object with only `err` set,
 * e.g. `{"err":"api_not_found"}`; the keeper's shard route uses a capital `Err` field instead.
 * SPIKE only ever emits the first five on the wire; `api_body_too_large` (413),
 * `api_rate_limited` (429, with a `Retry-After` header), `api_outcome_unknown` (500) and
 * `approval_required` (403, only where a policy's approval rule applies; ADR 0042) are our
 * additions.
 */
export const ErrorCode = {
  BadRequest: 'api_bad_request',
  Unauthorized: 'access_unauthorized',
  NotFound: 'api_not_found',
  Internal: 'api_internal_error',
  NotReady: 'state_not_ready',
  BodyTooLarge: 'api_body_too_large',
  RateLimited: 'api_rate_limited',
  OutcomeUnknown: 'api_outcome_unknown',
  ApprovalRequired: 'approval_required',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorCodeInfo {
  readonly status: number;
  /** Safe for the client to retry the same request later. */
  readonly retryable: boolean;
  /** One line for humans (CLI only; never sent on the wire). */
  readonly summary: string;
}

export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = Object.freeze({
  api_bad_request: { status: 400, retryable: false, summary: 'The request was invalid.' },
  access_unauthorized: { status: 401, retryable: false, summary: 'The caller is not allowed to do this.' },
  api_not_found: { status: 404, retryable: false, summary: 'Not found.' },
  api_internal_error: { status: 500, retryable: true, summary: 'The server failed to handle the request.' },
  state_not_ready: {
    status: 503,
    retryable: true,
    summary: 'SPIKE Nexus is not initialized or not ready yet.',
  },
  api_body_too_large: {
    status: 413,
    retryable: false,
    summary: 'The request body is larger than the server allows.',
  },
  api_rate_limited: {
    status: 429,
    retryable: true,
    summary: 'Too many requests from this caller; retry after the time the server gave.',
  },
  // A 500, not a 502/503/504: proxies and clients treat those as "not processed, try elsewhere".
  api_outcome_unknown: {
    status: 500,
    retryable: false,
    summary:
      'The database connection was lost while the change was being committed: it may or may not have been applied. Check before trying again.',
  },
  approval_required: {
    status: 403,
    retryable: false,
    summary:
      'This operation needs approval first: file a request with `spike request <operation> <target> --reason …`, and try again once enough approvers approved it (each grant is used once).',
  },
});

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Map an HTTP status back to a wire code the way SPIKE's SDK does (used when the body has none). */
export function errorCodeFromStatus(status: number): ErrorCode | undefined {
  switch (status) {
    case 400:
      return ErrorCode.BadRequest;
    case 401:
    case 403:
      return ErrorCode.Unauthorized;
    case 404:
      return ErrorCode.NotFound;
    case 413:
      return ErrorCode.BodyTooLarge;
    case 429:
      return ErrorCode.RateLimited;
    case 500:
      return ErrorCode.Internal;
    case 503:
      return ErrorCode.NotReady;
    default:
      return undefined;
  }
}
