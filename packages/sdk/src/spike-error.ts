/**
 * @module spike-error
 * Typed errors of the SDK, rebuilt from the wire codes Nexus sends (`{"err":"<code>"}`).
 * The wire code is the discriminant: `switch (err.code)` narrows. `isSpikeError` uses a
 * `Symbol.for` brand rather than `instanceof`, so two installed copies of the SDK still agree.
 */
import { ERROR_CODES, ErrorCode, errorCodeFromStatus, isErrorCode } from '@spike-ts/protocol';

/** Wire codes plus the SDK's own: an unknown code, and Nexus not reachable at all. */
export type SpikeErrorCode = ErrorCode | 'unknown' | 'nexus_unreachable';

const SPIKE_ERROR_BRAND: unique symbol = Symbol.for('spike-ts.sdk.SpikeError') as never;

export interface SpikeErrorOptions {
  cause?: unknown;
  /** A code string received on the wire that is not one we know (kept for diagnostics). */
  wireCode?: string;
}

/** Base class of every error the SDK throws on purpose. */
export class SpikeError extends Error {
  /** The wire code (or `unknown` / `nexus_unreachable`). */
  readonly code: SpikeErrorCode;
  /** The HTTP status Nexus answered with; 0 when no response was received. */
  readonly status: number;
  /** The raw code string from the wire when it was not a known one. */
  readonly wireCode: string | undefined;

  constructor(code: SpikeErrorCode, status: number, message: string, options: SpikeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpikeError';
    this.code = code;
    this.status = status;
    this.wireCode = options.wireCode;
    Object.defineProperty(this, SPIKE_ERROR_BRAND, { value: true, enumerable: false });
  }
}

/**
 * 404 `api_not_found`: the secret, version or policy does not exist (or is deleted). Also raised
 * for a missing policy on SPIKE's own Nexus, which answers 500 there (`status` stays 500).
 */
export class SpikeNotFoundError extends SpikeError {
  constructor(message = 'Not found.', status = 404, options: SpikeErrorOptions = {}) {
    super(ErrorCode.NotFound, status, message, options);
    this.name = 'SpikeNotFoundError';
  }
}

/** 401 `access_unauthorized`: the caller's SPIFFE ID may not do this. */
export class SpikeUnauthorizedError extends SpikeError {
  constructor(message = 'Unauthorized.', status = 401) {
    super(ErrorCode.Unauthorized, status, message);
    this.name = 'SpikeUnauthorizedError';
  }
}

/**
 * 400 `api_bad_request`: the request was invalid. Raised before sending (status 0) when the
 * SDK's own validation rejects an argument; `argument` then names it.
 */
export class SpikeBadRequestError extends SpikeError {
  /** The argument that failed client-side validation, when known. */
  readonly argument: string | undefined;

  constructor(message = 'Bad request.', status = 400, argument?: string) {
    super(ErrorCode.BadRequest, status, message);
    this.name = 'SpikeBadRequestError';
    this.argument = argument;
  }
}

/** 503 `state_not_ready`: Nexus has no root key yet (not bootstrapped or being restored). */
export class SpikeNotReadyError extends SpikeError {
  constructor(message = 'SPIKE Nexus is not ready.', status = 503) {
    super(ErrorCode.NotReady, status, message);
    this.name = 'SpikeNotReadyError';
  }
}

/** 413 `api_body_too_large`: the request body exceeds the server's limit. */
export class SpikeBodyTooLargeError extends SpikeError {
  constructor(message = 'Request body too large.', status = 413) {
    super(ErrorCode.BodyTooLarge, status, message);
    this.name = 'SpikeBodyTooLargeError';
  }
}

/**
 * 429 `api_rate_limited`: Nexus limits the requests of this SPIFFE ID (rate or requests in
 * flight) and refused this one; retrying later is safe.
 */
export class SpikeRateLimitedError extends SpikeError {
  constructor(message = 'Too many requests.', status = 429) {
    super(ErrorCode.RateLimited, status, message);
    this.name = 'SpikeRateLimitedError';
  }
}

/** 500 `api_internal_error`: the server failed (also: a cipher text that does not decrypt). */
export class SpikeInternalError extends SpikeError {
  constructor(message = 'SPIKE Nexus failed to handle the request.', status = 500) {
    super(ErrorCode.Internal, status, message);
    this.name = 'SpikeInternalError';
  }
}

/**
 * 500 `api_outcome_unknown`: Nexus sent the write's COMMIT to its database and lost the
 * connection before the answer: the write may or may not have been applied. The SDK never sends
 * it again, to this Nexus or another; check (e.g. read the secret's metadata) before writing again.
 */
export class SpikeOutcomeUnknownError extends SpikeError {
  constructor(message = ERROR_CODES[ErrorCode.OutcomeUnknown].summary, status = 500) {
    super(ErrorCode.OutcomeUnknown, status, message);
    this.name = 'SpikeOutcomeUnknownError';
  }
}

/**
 * 403 `approval_required` (SPIKE-TS only, ADR 0042): the caller may do this, but a policy's
 * approval rule asks for a grant first. File a request (`client.approvals.request`), wait until
 * enough approvers approved it, then do the same operation again: it uses the grant up.
 */
export class SpikeApprovalRequiredError extends SpikeError {
  constructor(message = ERROR_CODES[ErrorCode.ApprovalRequired].summary, status = 403) {
    super(ErrorCode.ApprovalRequired, status, message);
    this.name = 'SpikeApprovalRequiredError';
  }
}

/** One Nexus URL tried for a request, and why it did not serve it. */
export interface NexusAttempt {
  readonly url: string;
  readonly reason: string;
}

/** Nexus could not be reached (refused, reset, TLS failure, wrong server identity, timeout). */
export class SpikeConnectionError extends SpikeError {
  /** The URL that was being called (with several URLs: the first one tried). */
  readonly url: string;
  /** With several Nexus URLs: every URL tried for this request, in order, and why it failed. */
  readonly attempts: readonly NexusAttempt[];

  constructor(url: string, message: string, cause?: unknown, attempts: readonly NexusAttempt[] = []) {
    super('nexus_unreachable', 0, message, { cause });
    this.name = 'SpikeConnectionError';
    this.url = url;
    this.attempts = Object.freeze([...attempts]);
  }
}

/** True for every error the SDK throws on purpose, even from another copy of the SDK. */
export function isSpikeError(value: unknown): value is SpikeError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [SPIKE_ERROR_BRAND]?: unknown })[SPIKE_ERROR_BRAND] === true
  );
}

/** A wire code we accept as "code-shaped" enough to keep for diagnostics. */
const CODE_SHAPE = /^[a-z0-9_]{1,64}$/;

/**
 * Rebuild the typed error for a Nexus answer.
 * - `wireCode` is the `err` (or keeper `Err`) field of a JSON body. A known code picks the class;
 *   an unknown one gives a `SpikeError` with code `unknown` and the status.
 * - Without a code (empty field, or a plain-text body as stream-mode cipher errors have), the HTTP
 *   status picks the class the way SPIKE's SDK does; `detail` (the plain text) is kept in
 *   `wireCode` when it looks like a code.
 */
export function errorFromWire(status: number, wireCode: string | undefined, detail?: string): SpikeError {
  const trimmed = wireCode?.trim() ?? '';
  let code: ErrorCode | undefined;
  let kept: string | undefined;
  if (trimmed !== '') {
    code = isErrorCode(trimmed) ? trimmed : undefined;
    kept = CODE_SHAPE.test(trimmed) ? trimmed : undefined;
  } else {
    code = errorCodeFromStatus(status);
    const d = detail?.trim() ?? '';
    kept = CODE_SHAPE.test(d) ? d : undefined;
  }
  if (code === undefined) {
    const what = kept === undefined ? '' : ` (${kept})`;
    return new SpikeError('unknown', status, `Unexpected answer from SPIKE Nexus: HTTP ${status}${what}.`, {
      wireCode: kept,
    });
  }
  const err = errorForCode(code, status);
  if (kept !== undefined && kept !== code) Object.defineProperty(err, 'wireCode', { value: kept });
  return err;
}

function errorForCode(code: ErrorCode, status: number): SpikeError {
  const summary = ERROR_CODES[code].summary;
  switch (code) {
    case ErrorCode.NotFound:
      return new SpikeNotFoundError(summary, status);
    case ErrorCode.Unauthorized:
      return new SpikeUnauthorizedError(summary, status);
    case ErrorCode.BadRequest:
      return new SpikeBadRequestError(summary, status);
    case ErrorCode.NotReady:
      return new SpikeNotReadyError(summary, status);
    case ErrorCode.BodyTooLarge:
      return new SpikeBodyTooLargeError(summary, status);
    case ErrorCode.Internal:
      return new SpikeInternalError(summary, status);
    case ErrorCode.RateLimited:
      return new SpikeRateLimitedError(summary, status);
    case ErrorCode.OutcomeUnknown:
      return new SpikeOutcomeUnknownError(summary, status);
    case ErrorCode.ApprovalRequired:
      return new SpikeApprovalRequiredError(summary, status);
  }
}
