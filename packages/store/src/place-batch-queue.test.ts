import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBatchQueue } from './place-batch-queue.ts';

interface TestJob {
  readonly place: string;
  readonly n: number;
}

/** A runner whose batches end only when the test says so. */
function controlled() {
  const batches: { jobs: TestJob[]; finish: () => void; fail: (err: Error) => void }[] = [];
  const run = (jobs: TestJob[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      batches.push({ jobs, finish: resolve, fail: reject });
    });
  return { batches, run };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const numbers = (jobs: readonly TestJob[]): number[] => jobs.map((j) => j.n);

describe('batch queue', () => {
  it('starts the jobs pushed in one turn as one batch, in push order', async () => {
    const { batches, run } = controlled();
    const q = createBatchQueue<TestJob>({ maxBatch: 100, maxInFlight: 2, run });
    for (let n = 0; n < 10; n++) q.push({ place: `p${String(n % 3)}`, n });
    assert.equal(batches.length, 0, 'nothing runs before the turn ends');
    await turn();
    assert.equal(batches.length, 1);
    assert.deepEqual(numbers(batches[0]?.jobs ?? []), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(q.running, 1);
    batches[0]?.finish();
    await turn();
    assert.equal(q.running, 0);
  });

  it('cuts batches at maxBatch and runs at most maxInFlight at once; the rest forms the next batch', async () => {
    const { batches, run } = controlled();
    const q = createBatchQueue<TestJob>({ maxBatch: 3, maxInFlight: 2, run });
    for (let n = 0; n < 8; n++) q.push({ place: `p${String(n)}`, n });
    await turn();
    assert.deepEqual(
      batches.map((b) => numbers(b.jobs)),
      [
        [0, 1, 2],
        [3, 4, 5],
      ],
    );
    assert.equal(q.waiting, 2);
    for (let n = 8; n < 12; n++) q.push({ place: `p${String(n)}`, n });
    await turn();
    assert.equal(batches.length, 2, 'no slot is free');
    batches[1]?.finish();
    await turn();
    assert.deepEqual(numbers(batches[2]?.jobs ?? []), [6, 7, 8]);
    batches[0]?.finish();
    await turn();
    assert.deepEqual(numbers(batches[3]?.jobs ?? []), [9, 10, 11]);
    assert.equal(q.waiting, 0);
  });

  it('never lets two running batches hold one place; a waiting place keeps its order', async () => {
    const { batches, run } = controlled();
    const q = createBatchQueue<TestJob>({ maxBatch: 100, maxInFlight: 3, run });
    q.push({ place: 'a', n: 0 });
    q.push({ place: 'b', n: 1 });
    await turn();
    assert.deepEqual(numbers(batches[0]?.jobs ?? []), [0, 1]);
    // 'a' is held by the running batch: its jobs wait, the others go ahead.
    q.push({ place: 'a', n: 2 });
    q.push({ place: 'c', n: 3 });
    q.push({ place: 'a', n: 4 });
    q.push({ place: 'd', n: 5 });
    await turn();
    assert.deepEqual(numbers(batches[1]?.jobs ?? []), [3, 5]);
    assert.equal(q.waiting, 2);
    batches[0]?.finish();
    await turn();
    assert.deepEqual(numbers(batches[2]?.jobs ?? []), [2, 4]);
  });

  it('keeps later jobs of a place out when the batch is full before them', async () => {
    const { batches, run } = controlled();
    const q = createBatchQueue<TestJob>({ maxBatch: 2, maxInFlight: 2, run });
    q.push({ place: 'a', n: 0 });
    q.push({ place: 'b', n: 1 });
    q.push({ place: 'a', n: 2 });
    q.push({ place: 'c', n: 3 });
    await turn();
    // Batch 1 holds a and b; a's second job must not run beside it in batch 2.
    assert.deepEqual(
      batches.map((b) => numbers(b.jobs)),
      [[0, 1], [3]],
    );
    batches[1]?.finish();
    await turn();
    assert.equal(batches.length, 2, 'a is still held by batch 1');
    batches[0]?.finish();
    await turn();
    assert.deepEqual(numbers(batches[2]?.jobs ?? []), [2]);
  });

  it('frees the places of a batch whose runner rejected, and reports it', async () => {
    const { batches, run } = controlled();
    const reported: unknown[] = [];
    const q = createBatchQueue<TestJob>({
      maxBatch: 10,
      maxInFlight: 1,
      run,
      onRunnerError: (err) => reported.push(err),
    });
    q.push({ place: 'a', n: 0 });
    await turn();
    q.push({ place: 'a', n: 1 });
    batches[0]?.fail(new Error('runner bug'));
    await turn();
    assert.equal(reported.length, 1);
    assert.deepEqual(numbers(batches[1]?.jobs ?? []), [1]);
  });

  it('refuses limits below one', () => {
    const run = () => Promise.resolve();
    assert.throws(() => createBatchQueue({ maxBatch: 0, maxInFlight: 1, run }), RangeError);
    assert.throws(() => createBatchQueue({ maxBatch: 1, maxInFlight: 0, run }), RangeError);
    assert.throws(() => createBatchQueue({ maxBatch: 1.5, maxInFlight: 1, run }), RangeError);
  });
});
