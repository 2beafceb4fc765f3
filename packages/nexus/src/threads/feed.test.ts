import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { silentLogger } from '@spike-ts/core';
import { createFeed, followCommits, type Mirror } from './feed.ts';

/**
 * A worker's side of a commit feed over a real port: a read cache stand-in that records what it
 * was told to forget, and the sync its store would run before every read.
 */
function follower() {
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  const cache = { drops: [] as string[], dropAlls: 0 };
  let mirror: Mirror | undefined;
  const sync = followCommits({
    port: port2,
    counters,
    index: 0,
    logger: silentLogger,
    onMirror: (m) => (mirror = m),
  })({
    drop: (path) => cache.drops.push(path),
    dropAll: () => {
      cache.dropAlls++;
    },
  });
  return { counters, mainPort: port1, cache, sync, close: () => mirror?.close() };
}

describe('commit feed (API threads read caches)', () => {
  it('drops exactly the secrets each commit changed, before the next read, without an event-loop turn', () => {
    const { counters, mainPort, cache, sync, close } = follower();
    const feed = createFeed<readonly string[]>(counters, 0);
    try {
      feed.publish(['before-subscribe']); // not for this worker: it starts from the next snapshot
      feed.subscribe(mainPort, []);
      sync();
      assert.equal(cache.dropAlls, 1, 'the start message empties the cache');
      feed.publish(['a', 'b']);
      feed.publish([]);
      feed.publish(['c']);
      // No await: only the counter and the synchronous take can have delivered these.
      sync();
      assert.deepEqual(cache.drops, ['a', 'b', 'c']);
      sync();
      assert.deepEqual(cache.drops, ['a', 'b', 'c'], 'each change is applied once');
      assert.equal(cache.dropAlls, 1);
    } finally {
      close();
    }
  });

  it('bypasses the cache (empties it before every read) once it lost a commit', () => {
    const { counters, mainPort, cache, sync, close } = follower();
    try {
      sync();
      assert.equal(cache.dropAlls, 1, 'nothing to follow yet: nothing may be served from the cache');
      mainPort.postMessage({ seq: 0, body: [] });
      sync();
      assert.equal(cache.dropAlls, 2, 'the start message');
      sync();
      assert.equal(cache.dropAlls, 2, 'current: the cache is used');
      mainPort.postMessage({ seq: 2, body: ['x'] });
      counters[0] = 2;
      sync();
      sync();
      assert.equal(cache.dropAlls, 4, 'commit 1 is missing: every read bypasses the cache from now on');
      assert.deepEqual(cache.drops, []);
    } finally {
      close();
    }
  });
});
