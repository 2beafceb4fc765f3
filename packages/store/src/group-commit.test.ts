import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import { putVersion, samplePolicy } from './contract-fixture.ts';
import { createGroupCommit } from './group-commit.ts';
import type { TransactionControl } from './group-commit.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { rawDb, tempDataDir } from './sqlite-test-kit.ts';

/** A fake transaction that records the order of events. */
function recorder(fail: { begin?: boolean; commit?: boolean } = {}) {
  const events: string[] = [];
  const tx: TransactionControl<{ id: number }> = {
    begin: () => {
      events.push('begin');
      if (fail.begin === true) throw new Error('begin failed');
    },
    commit: () => {
      events.push('commit');
      if (fail.commit === true) throw new Error('commit failed');
    },
    rollback: () => events.push('rollback'),
    newBatch: () => ({ id: events.filter((e) => e === 'begin').length }),
  };
  return { events, tx };
}

describe('group commit', () => {
  it('commits mutations queued in the same turn in one transaction, resolving after COMMIT', async () => {
    const { events, tx } = recorder();
    const gc = createGroupCommit(tx, 100);
    const calls = Array.from({ length: 10 }, (_, i) =>
      gc
        .submit((batch) => () => {
          events.push(`write${i}`);
          return batch.id;
        })
        .then((batchId) => {
          events.push(`resolved${i}`);
          return batchId;
        }),
    );
    assert.equal(gc.pending, 10);
    assert.deepEqual(
      await Promise.all(calls),
      Array.from({ length: 10 }, () => 1),
    );
    assert.equal(events.filter((e) => e === 'begin').length, 1);
    assert.ok(events.indexOf('commit') < events.indexOf('resolved0'), 'resolved only after COMMIT');
  });

  it('bounds the batch size', async () => {
    const { events, tx } = recorder();
    const gc = createGroupCommit(tx, 4);
    const ids = await Promise.all(Array.from({ length: 10 }, () => gc.submit((b) => () => b.id)));
    assert.deepEqual(ids, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    assert.equal(events.filter((e) => e === 'commit').length, 3);
  });

  it('rejects only the caller whose prepare throws', async () => {
    const { events, tx } = recorder();
    const gc = createGroupCommit(tx, 100);
    const boom = new Error('mutator');
    const results = await Promise.allSettled([
      gc.submit(() => () => 'a'),
      gc.submit(() => {
        throw boom;
      }),
      gc.submit(() => () => 'c'),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as unknown))),
      ['a', boom, 'c'],
    );
    assert.deepEqual(events, ['begin', 'commit']);
  });

  it('rolls back and rejects the whole batch when a write or the COMMIT fails', async () => {
    const writeFail = recorder();
    const gc = createGroupCommit(writeFail.tx, 100);
    const broken = new Error('disk');
    const results = await Promise.allSettled([
      gc.submit(() => () => 1),
      gc.submit(() => () => {
        throw broken;
      }),
      gc.submit(() => () => 3),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    assert.deepEqual(writeFail.events, ['begin', 'rollback']);
    assert.equal(await gc.submit(() => () => 'later'), 'later', 'later batches still run');

    for (const fail of [{ commit: true }, { begin: true }]) {
      const r = recorder(fail);
      const g = createGroupCommit(r.tx, 100);
      const settled = await Promise.allSettled([g.submit(() => () => 1), g.submit(() => () => 2)]);
      assert.deepEqual(
        settled.map((s) => s.status),
        ['rejected', 'rejected'],
      );
      assert.ok(r.events.includes('rollback'));
    }
  });

  it('flushAll runs everything queued synchronously', () => {
    const { events, tx } = recorder();
    const gc = createGroupCommit(tx, 2);
    for (let i = 0; i < 5; i++) void gc.submit(() => () => i);
    gc.flushAll();
    assert.equal(gc.pending, 0);
    assert.equal(events.filter((e) => e === 'commit').length, 3);
  });

  it('sqlite: a COMMIT that fails rejects every caller of the batch and writes nothing', async (t) => {
    const dataDir = tempDataDir(t);
    // Rollback-journal mode: COMMIT needs an exclusive lock, which a reader's shared lock blocks.
    const store = createSqliteStore({ dataDir, journalMode: 'DELETE', busyTimeoutMs: 20 });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    await store.updateSecret('before', putVersion('before', { k: 'v' }));
    const reader = rawDb(dataDir);
    t.after(() => reader.close());
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM secrets').get();
    const results = await Promise.allSettled([
      store.updateSecret('a', putVersion('a', { k: 'v' })),
      store.putPolicy(samplePolicy('p')),
      store.updateSecret('before', putVersion('before', { k: 'v2' })),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'rejected'],
    );
    reader.exec('COMMIT');
    assert.deepEqual(await store.listSecretPaths(), ['before']);
    assert.equal((await store.getSecret('before'))?.versions.length, 1);
    assert.deepEqual(await store.listPolicies(), []);
    await store.updateSecret('a', putVersion('a', { k: 'v' }));
    assert.deepEqual(await store.listSecretPaths(), ['a', 'before']);
  });
});
