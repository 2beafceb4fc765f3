/**
 * The one error type routes throw to answer with a specific wire code. `detail` is for the
 * server log only; the client sees the code and nothing else.
 */
import type { ErrorCode } from '@spike-ts/protocol';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? code, options);
    this.code = code;
  }
}

/** A stream-mode cipher failure: answered as a plain-text body holding `code` (SPIKE's `http.Error`). */
export class PlainTextError extends Error {
  override readonly name = 'PlainTextError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? code, options);
    this.status = status;
    this.code = code;
  }
}
