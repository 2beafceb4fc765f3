/**
 * The SQLite backend's observer (what Nexus's metrics count): the size of every committed write
 * batch, and whether each single-version read was answered from the read cache.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import { putVersion } from './contract-fixture.ts';
import { tempDataDir } from './sqlite-test-kit.ts';
import { createSqliteStore, type StoreObserver } from './sqlite-store.ts';

function recorder(): StoreObserver & { batches: number[]; reads: boolean[] } {
  const batches: number[] = [];
  const reads: boolean[] = [];
  return {
    batches,
    reads,
    batchCommitted: (size) => void batches.push(size),
    cacheRead: (hit) => void reads.push(hit),
  };
}

describe('sqlite store observer', () => {
  it('hears the size of each committed batch: writes queued in one turn commit together', async (t) => {
    const observer = recorder();
    const store = createSqliteStore({ dataDir: tempDataDir(t), observer });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    await Promise.all([
      store.updateSecret('a', putVersion('a', { k: '1' })),
      store.updateSecret('b', putVersion('b', { k: '2' })),
      store.updateSecret('c', putVersion('c', { k: '3' })),
    ]);
    await store.updateSecret('a', putVersion('a', { k: '4' }));
    // The unlock's key-check write is a batch of one too.
    assert.deepEqual(observer.batches.slice(-2), [3, 1]);
  });

  it('a failed mutation is not counted in its batch', async (t) => {
    const observer = recorder();
    const store = createSqliteStore({ dataDir: tempDataDir(t), observer });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    const before = observer.batches.length;
    const results = await Promise.allSettled([
      store.updateSecret('a', putVersion('a', { k: '1' })),
      store.updateSecret('b', () => {
        throw new Error('refused');
      }),
    ]);
    assert.equal(results[1]?.status, 'rejected');
    assert.deepEqual(observer.batches.slice(before), [1]);
  });

  it('tells read-cache hits from misses (a write drops the entry it changes)', async (t) => {
    const observer = recorder();
    const store = createSqliteStore({ dataDir: tempDataDir(t), observer });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    await store.updateSecret('a', putVersion('a', { k: '1' }));
    await store.getSecretVersion('a', 0); // miss: first read
    await store.getSecretVersion('a', 0); // hit
    await store.getSecretVersion('a', 1); // hit: the same version
    await store.getSecretVersion('nope', 0); // miss: nothing cached, nothing found
    await store.updateSecret('a', putVersion('a', { k: '2' }));
    await store.getSecretVersion('a', 0); // miss: the write dropped it
    await store.getSecretVersion('a', 7); // hit: the head says there is no version 7
    assert.deepEqual(observer.reads, [false, true, true, false, false, true]);
  });

  it('with no cache every read is a miss', async (t) => {
    const observer = recorder();
    const store = createSqliteStore({ dataDir: tempDataDir(t), observer, rowCacheBytes: 0 });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    await store.updateSecret('a', putVersion('a', { k: '1' }));
    await store.getSecretVersion('a', 0);
    await store.getSecretVersion('a', 0);
    assert.deepEqual(observer.reads, [false, false]);
  });
});
