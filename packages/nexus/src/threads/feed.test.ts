import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { silentLogger } from '@spike-ts/core';
import { createFeed, followCommits, type Mirror } from './feed.ts';

/** A read cache stand-in that records what it was told to forget. */
function recordingCache(): {
  drops: string[];
  dropAlls: number;
  target: { drop(p: string): void; dropAll(): void };
} {
  const rec = {
    drops: [] as string[],
    dropAlls: 0,
    target: {
      drop: (path: string) => rec.drops.push(path),
      dropAll: () => {
        rec.dropAlls++;
      },
    },
  };
  return rec;
}

describe('commit feed (API threads read caches)', () => {
  it('drops exactly the secrets each commit changed, before the next read, without an event-loop turn', () => {
    const counters = new Int32Array(new SharedArrayBuffer(8));
    const feed = createFeed<readonly string[]>(counters, 0);
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    let mirror: Mirror | undefined;
    const cache = recordingCache();
    const sync = followCommits({
      port: port2,
      counters,
      index: 0,
      logger: silentLogger,
      onMirror: (m) => (mirror = m),
    })(cache.target);
    try {
      feed.publish(['before-subscribe']); // not for this worker: it starts from the next snapshot
      feed.subscribe(port1, []);
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
      mirror?.close();
    }
  });

  it('bypasses the cache (empties it before every read) once it lost a commit', () => {
    const counters = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    let mirror: Mirror | undefined;
    const cache = recordingCache();
    const sync = followCommits({
      port: port2,
      counters,
      index: 0,
      logger: silentLogger,
      onMirror: (m) => (mirror = m),
    })(cache.target);
    try {
      sync();
      assert.equal(cache.dropAlls, 1, 'nothing to follow yet: nothing may be served from the cache');
      port1.postMessage({ seq: 0, body: [] });
      sync();
      assert.equal(cache.dropAlls, 2, 'the start message');
      sync();
      assert.equal(cache.dropAlls, 2, 'current: the cache is used');
      port1.postMessage({ seq: 2, body: ['x'] });
      counters[0] = 2;
      sync();
      sync();
      assert.equal(cache.dropAlls, 4, 'commit 1 is missing: every read bypasses the cache from now on');
      assert.deepEqual(cache.drops, []);
    } finally {
      mirror?.close();
    }
  });
});
