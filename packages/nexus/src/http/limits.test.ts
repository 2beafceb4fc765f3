import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCallerLimiter, threadRateLimit, threadShare } from './limits.ts';
import { loadConfig } from '../config.ts';

describe('caller limiter', () => {
  it('is absent when every limit is off', () => {
    assert.equal(createCallerLimiter({ requestsPerSecond: 0, burst: 1, concurrency: 0 }), undefined);
  });

  it('spends the burst, then refills at the rate, never above the burst', () => {
    let t = 0;
    const limiter = createCallerLimiter({ requestsPerSecond: 4, burst: 2, concurrency: 0 }, { now: () => t });
    assert.ok(limiter);
    const take = (): boolean => {
      const a = limiter.admit('spiffe://a/x');
      if (a.ok) a.release();
      return a.ok;
    };
    assert.deepEqual([take(), take(), take()], [true, true, false]);
    t += 250; // one token at 4/s
    assert.deepEqual([take(), take()], [true, false]);
    t += 60_000;
    assert.deepEqual([take(), take(), take()], [true, true, false]);
  });

  it('says when to retry: the time until a whole token, in seconds, at least 1', () => {
    let t = 0;
    const limiter = createCallerLimiter(
      { requestsPerSecond: 0.1, burst: 1, concurrency: 0 },
      { now: () => t },
    );
    assert.ok(limiter);
    assert.equal(limiter.admit('a').ok, true);
    const refused = limiter.admit('a');
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.retryAfterS, 10);
    assert.equal(!refused.ok && refused.reason, 'rate');
    t += 9_500;
    const later = limiter.admit('a');
    assert.equal(!later.ok && later.retryAfterS, 1);
  });

  it('caps requests in flight per caller; release is idempotent', () => {
    const limiter = createCallerLimiter({ requestsPerSecond: 0, burst: 1, concurrency: 2 });
    assert.ok(limiter);
    const a = limiter.admit('a');
    const b = limiter.admit('a');
    assert.ok(a.ok && b.ok);
    const c = limiter.admit('a');
    assert.equal(c.ok, false);
    assert.equal(!c.ok && c.reason, 'concurrency');
    assert.equal(limiter.admit('b').ok, true, 'another caller has its own count');
    a.release();
    a.release();
    const d = limiter.admit('a');
    assert.equal(d.ok, true);
    assert.equal(limiter.admit('a').ok, false, 'a double release did not free a second slot');
  });

  it('tracks a bounded number of callers, forgetting the least recently seen', () => {
    const t = 0;
    const limiter = createCallerLimiter(
      { requestsPerSecond: 1, burst: 1, concurrency: 0 },
      { now: () => t, maxCallers: 3 },
    );
    assert.ok(limiter);
    for (const id of ['a', 'b', 'c']) assert.equal(limiter.admit(id).ok, true);
    assert.equal(limiter.admit('a').ok, false); // 'a' is now the most recently seen
    assert.equal(limiter.admit('d').ok, true); // evicts 'b'
    assert.equal(limiter.size, 3);
    assert.equal(limiter.admit('a').ok, false, "'a' was kept (still empty)");
    assert.equal(limiter.admit('b').ok, true, "'b' was forgotten (fresh bucket)");
    for (let i = 0; i < 1000; i++) limiter.admit(`caller-${String(i)}`);
    assert.equal(limiter.size, 3);
  });
});

describe('per-thread shares', () => {
  it('divides each limit over the API threads, rounding up; 0 stays off', () => {
    assert.equal(threadShare(0, 4), 0);
    assert.equal(threadShare(10, 1), 10);
    assert.equal(threadShare(10, 4), 3);
    assert.equal(threadShare(1, 4), 1);
    const config = loadConfig({
      SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
      SPIKE_NEXUS_KEEPER_PEERS: 'https://k1:8443,https://k2:8443,https://k3:8443',
      SPIKE_NEXUS_API_THREADS: '2',
      SPIKE_NEXUS_RATE_LIMIT_RPS: '5',
      SPIKE_NEXUS_RATE_LIMIT_BURST: '9',
      SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY: '3',
      SPIKE_NEXUS_DATA_DIR: '/tmp/spike-limits-test',
    });
    assert.deepEqual(threadRateLimit(config), { requestsPerSecond: 2.5, burst: 5, concurrency: 2 });
  });
});
