/**
 * The one mapping from thrown errors to wire answers: by the spine error's code
 * (`@spike-ts/protocol` api-error.ts); anything else is a server fault (500). Clients get the code
 * only; the detail goes to the server log keyed by the request id.
 */
import { ERROR_CODES, ErrorCode, wireCodeOf } from '@spike-ts/protocol';

export interface WireError {
  readonly status: number;
  readonly code: ErrorCode;
  /** True when the error is a server fault worth an error-level log line. */
  readonly internal: boolean;
}

export function toWireError(err: unknown): WireError {
  const code = wireCodeOf(err);
  return { status: ERROR_CODES[code].status, code, internal: code === ErrorCode.Internal };
}
