/**
 * Group commit: mutations queued during one turn of the event loop are applied in a single
 * write transaction, so many concurrent writers share one `COMMIT` (one fsync) instead of paying
 * one each. Durability is unchanged: a caller's promise settles only after the transaction that
 * holds its change has committed (or failed).
 *
 * Each job has two phases, run inside the transaction:
 * - `prepare(batch)` computes the change (runs the caller's mutator, encrypts rows) and returns a
 *   write function. If it throws, only that caller is rejected; it has written nothing.
 * - the write function executes the statements and returns the caller's result. If it throws,
 *   the whole transaction is rolled back and every caller of the batch is rejected (a
 *   half-applied statement cannot be trusted).
 * A failed `BEGIN` or `COMMIT` also rejects the whole batch.
 */

/** Executes a prepared change inside the open transaction and returns the caller's result. */
export type PreparedWrite<T> = () => T;

export interface TransactionControl<B> {
  begin(): void;
  /** Commits the open transaction; `batch` is the state every `prepare` of it saw. */
  commit(batch: B): void;
  /** Must not throw when no transaction is open. */
  rollback(): void;
  /** Fresh per-batch state handed to every `prepare` of the batch (e.g. a read overlay). */
  newBatch(): B;
  /** Called when a whole batch fails (for logging; the callers get the error). */
  onBatchFailure?(err: unknown, size: number): void;
  /** Called after each successful commit with the number of mutations it committed (metrics). */
  onBatchCommitted?(size: number): void;
}

export interface GroupCommit<B> {
  submit<T>(prepare: (batch: B) => PreparedWrite<T>): Promise<T>;
  /** Synchronously runs every queued job (used by close). */
  flushAll(): void;
  readonly pending: number;
}

interface Job<B> {
  prepare(batch: B): PreparedWrite<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export function createGroupCommit<B>(tx: TransactionControl<B>, maxBatchSize: number): GroupCommit<B> {
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1)
    throw new RangeError('maxBatchSize must be >= 1');
  const queue: Job<B>[] = [];
  let scheduled = false;

  const schedule = (): void => {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      runBatch(queue.splice(0, maxBatchSize));
      schedule();
    });
  };

  const failAll = (jobs: readonly Job<B>[], err: unknown): void => {
    try {
      tx.rollback();
    } catch {
      // The original error is what the callers need to see.
    }
    tx.onBatchFailure?.(err, jobs.length);
    for (const job of jobs) job.reject(err);
  };

  const runBatch = (jobs: Job<B>[]): void => {
    if (jobs.length === 0) return;
    try {
      tx.begin();
    } catch (err) {
      failAll(jobs, err);
      return;
    }
    const batch = tx.newBatch();
    const applied: { job: Job<B>; result: unknown }[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as Job<B>;
      let prepared: PreparedWrite<unknown>;
      try {
        prepared = job.prepare(batch);
      } catch (err) {
        job.reject(err);
        continue;
      }
      let result: unknown;
      try {
        result = prepared();
      } catch (err) {
        failAll([...applied.map((a) => a.job), ...jobs.slice(i)], err);
        return;
      }
      applied.push({ job, result });
    }
    try {
      tx.commit(batch);
    } catch (err) {
      failAll(
        applied.map((a) => a.job),
        err,
      );
      return;
    }
    if (applied.length > 0) tx.onBatchCommitted?.(applied.length);
    for (const { job, result } of applied) job.resolve(result);
  };

  return {
    submit<T>(prepare: (batch: B) => PreparedWrite<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ prepare, resolve, reject });
        schedule();
      });
    },
    flushAll(): void {
      while (queue.length > 0) runBatch(queue.splice(0, maxBatchSize));
    },
    get pending(): number {
      return queue.length;
    },
  };
}
