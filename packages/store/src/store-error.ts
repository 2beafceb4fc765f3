/**
 * Errors raised by the storage backends. Messages name the table and row position at most: never a
 * secret value, and never a secret path or policy name (those are protected at rest too).
 */
import { NotReadyError, OutcomeUnknownError } from '@spike-ts/protocol';

/**
 * A data method was called before `unlock(rootKey)` installed a root key. A request that meets a
 * locked store is answered 503 `state_not_ready` (a spine error), never 500.
 */
export class StoreLockedError extends NotReadyError {
  override readonly name: string = 'StoreLockedError';
  constructor() {
    super('the store is locked: call unlock(rootKey) with the root key first');
  }
}

/** A method was called after `close()`. */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  constructor() {
    super('the store is closed');
  }
}

/**
 * A stored row failed authentication or is inconsistent with its neighbours (edited, swapped
 * between places, or deleted). Stored data is never skipped silently.
 */
export class StoreIntegrityError extends Error {
  override readonly name = 'StoreIntegrityError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`store integrity check failed: ${message}`, options);
  }
}

/** The database schema cannot be used by this build (newer than the code, or a migration failed). */
export class StoreSchemaError extends Error {
  override readonly name = 'StoreSchemaError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A record handed to the store (by a caller or a mutator) is malformed. Nothing was written. */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
  constructor(message: string) {
    super(`invalid record: ${message}`);
  }
}

/**
 * The database cannot be reached right now (connection refused or lost, server shutting down or
 * starting, timeouts). Like a locked store, a request that meets it is answered 503
 * `state_not_ready`: retry later. Nothing about the caller's data is in the message.
 */
export class StoreUnavailableError extends NotReadyError {
  override readonly name: string = 'StoreUnavailableError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`the database is unavailable: ${reason}`, options);
  }
}

/**
 * A write's COMMIT was sent and its answer never came (the connection broke or the server went
 * away meanwhile): the change may or may not be in the database. Answered 500
 * `api_outcome_unknown`, never 503 (a 503 means "nothing was changed, try again or elsewhere").
 */
export class StoreOutcomeUnknownError extends OutcomeUnknownError {
  override readonly name: string = 'StoreOutcomeUnknownError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(
      `the database connection failed while a change was being committed; it may have been applied: ${reason}`,
      options,
    );
  }
}
