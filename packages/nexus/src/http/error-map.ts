/**
 * The one mapping from thrown errors to wire codes. Clients get the code only; the detail goes
 * to the server log keyed by the request id.
 */
import { BadRequestError, ERROR_CODES, ErrorCode } from '@spike-ts/protocol';
import { NotFoundError } from '@spike-ts/core';
import { ApiError } from './api-error.ts';
import { BodyReadError, BodyTooLargeError } from './body.ts';

export interface WireError {
  readonly status: number;
  readonly code: ErrorCode;
  /** True when the error is a server fault worth an error-level log line. */
  readonly internal: boolean;
}

export function toWireError(err: unknown): WireError {
  let code: ErrorCode;
  if (err instanceof ApiError) code = err.code;
  else if (err instanceof BadRequestError) code = ErrorCode.BadRequest;
  else if (err instanceof NotFoundError) code = ErrorCode.NotFound;
  else if (err instanceof BodyTooLargeError) code = ErrorCode.BodyTooLarge;
  else if (err instanceof BodyReadError) code = ErrorCode.BadRequest;
  else code = ErrorCode.Internal;
  return { status: ERROR_CODES[code].status, code, internal: code === ErrorCode.Internal };
}
