import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { retryWithBackoff } from './retry.ts';

/** A fake clock: sleeping advances time instantly. */
function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

describe('retryWithBackoff', () => {
  it('doubles the delay up to the cap and stops after maxAttempts', async () => {
    const clock = fakeTime();
    let calls = 0;
    const out = await retryWithBackoff(
      { maxAttempts: 6, initialDelayMs: 100, maxDelayMs: 500, deadline: Infinity },
      () => {
        calls++;
        return Promise.resolve({ done: false, error: new Error(`fail ${calls}`) });
      },
      clock,
    );
    assert.equal(calls, 6);
    assert.deepEqual(clock.sleeps, [100, 200, 400, 500, 500]);
    assert.equal(out.done, false);
    assert.equal(!out.done && out.error.message, 'fail 6');
  });

  it('returns the first success', async () => {
    const clock = fakeTime();
    let calls = 0;
    const out = await retryWithBackoff(
      { maxAttempts: 10, initialDelayMs: 10, maxDelayMs: 100, deadline: Infinity },
      () =>
        Promise.resolve(++calls < 3 ? { done: false, error: new Error('x') } : { done: true, value: 'ok' }),
      clock,
    );
    assert.deepEqual(out, { done: true, value: 'ok' });
    assert.equal(calls, 3);
  });

  it('stops at the deadline and never sleeps past it', async () => {
    const clock = fakeTime();
    let calls = 0;
    await retryWithBackoff(
      { maxAttempts: Infinity, initialDelayMs: 100, maxDelayMs: 1000, deadline: 750 },
      (remaining) => {
        calls++;
        assert.ok(remaining > 0);
        return Promise.resolve({ done: false, error: new Error('x') });
      },
      clock,
    );
    assert.deepEqual(clock.sleeps, [100, 200, 400, 50]);
    assert.equal(calls, 4);
  });

  it('lets a thrown (permanent) error through', async () => {
    await assert.rejects(
      retryWithBackoff({ maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1, deadline: Infinity }, () =>
        Promise.reject(new Error('permanent')),
      ),
      /permanent/,
    );
  });
});
