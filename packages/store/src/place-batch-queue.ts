/**
 * A queue that hands jobs to a runner in batches, for group commit over a connection pool: at
 * most `maxInFlight` batches run at once, each of at most `maxBatch` jobs. Jobs name a place
 * (a secret); jobs of one place run in the order they were pushed: a batch may hold several jobs
 * of one place (in push order), and a job whose place is in a running batch waits for that batch
 * to end, so two batches never hold the same place at the same time.
 *
 * No timer: jobs pushed during one turn of the event loop start together, and jobs that arrive
 * while every slot is busy form the next batch when a slot frees. A single caller therefore
 * waits for nothing extra, and batches grow with the load.
 */

export interface PlacedJob {
  /** Jobs with equal places are never in two running batches, and keep their push order. */
  readonly place: string;
}

export interface BatchQueueOptions<J extends PlacedJob> {
  readonly maxBatch: number;
  readonly maxInFlight: number;
  /**
   * Runs one batch and settles every job of it. Must not reject (a rejection is reported to
   * `onRunnerError` and the batch's places are freed).
   */
  run(jobs: J[]): Promise<void>;
  onRunnerError?(err: unknown): void;
}

export interface BatchQueue<J extends PlacedJob> {
  push(job: J): void;
  /** Jobs waiting for a batch. */
  readonly waiting: number;
  /** Batches running now. */
  readonly running: number;
}

export function createBatchQueue<J extends PlacedJob>(opts: BatchQueueOptions<J>): BatchQueue<J> {
  const { maxBatch, maxInFlight } = opts;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError('maxBatch must be >= 1');
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw new RangeError('maxInFlight must be >= 1');
  let queue: J[] = [];
  /** Places held by running batches. */
  const busy = new Set<string>();
  let running = 0;
  let scheduled = false;

  /** The next batch: queued jobs in order, skipping places that a running batch holds. */
  const take = (): J[] => {
    const batch: J[] = [];
    const rest: J[] = [];
    for (const job of queue) {
      if (batch.length < maxBatch && !busy.has(job.place)) batch.push(job);
      else rest.push(job);
    }
    // A place whose later jobs did not fit stays held by this batch (see below), so they wait.
    queue = rest;
    return batch;
  };

  const pump = (): void => {
    while (running < maxInFlight && queue.length > 0) {
      const batch = take();
      if (batch.length === 0) return;
      const places = new Set(batch.map((j) => j.place));
      for (const p of places) busy.add(p);
      running += 1;
      const done = (): void => {
        for (const p of places) busy.delete(p);
        running -= 1;
        pump();
      };
      opts.run(batch).then(done, (err: unknown) => {
        opts.onRunnerError?.(err);
        done();
      });
    }
  };

  return {
    push(job: J): void {
      queue.push(job);
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        pump();
      });
    },
    get waiting(): number {
      return queue.length;
    },
    get running(): number {
      return running;
    },
  };
}
