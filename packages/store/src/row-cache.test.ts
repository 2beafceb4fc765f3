import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { randomBytes } from '@spike-ts/core';
import { putVersion, softDelete } from './contract-fixture.ts';
import { RowCache } from './row-cache.ts';
import type { SecretHead } from './row-codec.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { rawDb, tempDataDir } from './sqlite-test-kit.ts';

const head = (path: string): SecretHead => ({
  path,
  metadata: { currentVersion: 1, oldestVersion: 1, createdTime: 0, updatedTime: 0, maxVersions: 10 },
  versions: [1],
});
const id = new Uint8Array(32);

describe('RowCache', () => {
  it('checks the data version once per turn and empties itself when it moved', async () => {
    let version = 1;
    let checks = 0;
    const cache = new RowCache(1 << 20, () => {
      checks++;
      return version;
    });
    cache.sync();
    cache.add('a', id, head('a'));
    cache.sync();
    assert.equal(checks, 1, 'a second read in the same turn reuses the check');
    version = 2;
    cache.sync();
    assert.equal(cache.size, 1, 'a commit seen only on the next turn');
    await nextTurn();
    cache.sync();
    assert.equal(checks, 2);
    assert.equal(cache.size, 0, 'another connection committed: nothing cached survives');
    cache.add('b', id, head('b'));
    await nextTurn();
    cache.sync();
    assert.equal(cache.size, 1, 'an unchanged data version keeps the cache');
  });

  it('holds at most its budget and lets the least recently used entry go first', () => {
    const cache = new RowCache(3 * 1024 + 3 * 600, () => 0);
    for (const p of ['a', 'b', 'c']) cache.addVersion(p, cache.add(p, id, head(p)), 1, new Uint8Array(1024));
    assert.equal(cache.size, 3);
    assert.ok(cache.get('a'), 'a is now the most recently used');
    assert.ok(cache.idOf('b'), 'idOf finds b without marking it used');
    cache.addVersion('d', cache.add('d', id, head('d')), 1, new Uint8Array(1024));
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.ok(cache.get('a') && cache.get('c') && cache.get('d'));
    assert.ok(cache.bytes <= 3 * 1024 + 3 * 600);
    cache.delete('a');
    cache.delete('a');
    assert.equal(cache.size, 2);
    cache.clear();
    assert.equal(cache.bytes, 0);
  });

  it('runs the peer hook on every read, within the same turn', () => {
    let syncs = 0;
    const cache = new RowCache(1 << 20, () => 0);
    cache.followPeers(() => {
      syncs++;
      if (syncs === 3) cache.delete('a');
    });
    cache.sync();
    cache.add('a', id, head('a'));
    cache.add('b', id, head('b'));
    cache.sync();
    assert.equal(cache.size, 2);
    cache.sync();
    assert.equal(syncs, 3, 'the hook runs on every sync, not once per turn');
    assert.equal(cache.get('a'), undefined, 'what a peer changed is gone at once');
    assert.ok(cache.get('b'), 'the rest stays');
  });

  it('keeps nothing with a zero budget, and ignores versions of entries no longer cached', () => {
    const none = new RowCache(0, () => 0);
    none.addVersion('a', none.add('a', id, head('a')), 1, new Uint8Array(8));
    assert.equal(none.size, 0);
    assert.equal(none.bytes, 0);

    const cache = new RowCache(1 << 20, () => 0);
    const stale = cache.add('a', id, head('a'));
    cache.delete('a');
    cache.addVersion('a', stale, 1, new Uint8Array(8));
    assert.equal(cache.bytes, 0);
    assert.throws(() => new RowCache(-1, () => 0), RangeError);
  });
});

describe('sqlite store read cache and other connections', () => {
  it('a read sees what another connection committed before its turn', async (t) => {
    const dataDir = tempDataDir(t);
    const key = randomBytes(32);
    const a = createSqliteStore({ dataDir });
    const b = createSqliteStore({ dataDir });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    await a.unlock(key);
    await b.unlock(key);
    await a.updateSecret('s', putVersion('s', { v: '1' }));
    assert.equal((await a.getSecretVersion('s', 0))?.version?.data['v'], '1');
    assert.equal((await b.getSecretVersion('s', 0))?.version?.data['v'], '1');

    await b.updateSecret('s', putVersion('s', { v: '2' }));
    await nextTurn();
    assert.equal((await a.getSecretVersion('s', 0))?.version?.data['v'], '2');
    await b.updateSecret('s', softDelete(2, 1));
    await nextTurn();
    assert.equal((await a.getSecretVersion('s', 0))?.version?.version, 1);

    const raw = rawDb(dataDir);
    try {
      raw.exec('DELETE FROM secret_versions; DELETE FROM secrets;');
    } finally {
      raw.close();
    }
    await nextTurn();
    assert.equal(await a.getSecretVersion('s', 0), undefined);
  });

  it('onCommit reports the paths each commit changed; a reader told them drops only those', async (t) => {
    const dataDir = tempDataDir(t);
    const key = randomBytes(32);
    const commits: string[][] = [];
    let pending: string[] = [];
    const writer = createSqliteStore({
      dataDir,
      onCommit: (paths) => {
        commits.push([...paths]);
        pending.push(...paths);
      },
    });
    const dropped: string[] = [];
    const reader = createSqliteStore({
      dataDir,
      peerChanges: (cache) => () => {
        for (const path of pending) {
          dropped.push(path);
          cache.drop(path);
        }
        pending = [];
      },
    });
    t.after(async () => {
      await writer.close();
      await reader.close();
    });
    await writer.unlock(key);
    await reader.unlock(key);
    await Promise.all([
      writer.updateSecret('s', putVersion('s', { v: '1' })),
      writer.updateSecret('u', putVersion('u', { v: '1' })),
    ]);
    assert.deepEqual(commits.at(-1)?.sort(), ['s', 'u'], 'one commit for the batch, with both paths');
    assert.equal((await reader.getSecretVersion('s', 0))?.version?.data['v'], '1');
    assert.equal((await reader.getSecretVersion('u', 0))?.version?.data['v'], '1');
    await writer.putPolicy({
      name: 'p',
      spiffeIdPattern: '.*',
      pathPattern: '.*',
      permissions: ['read'],
      createdTime: 1,
      updatedTime: 1,
    });
    assert.deepEqual(commits.at(-1), [], 'a policy commit changes no secret');
    await writer.updateSecret('s', putVersion('s', { v: '2' }));
    assert.equal((await reader.getSecretVersion('s', 0))?.version?.data['v'], '2');
    assert.deepEqual(dropped.sort(), ['s', 's', 'u']);
  });

  it('this connection sees its own writes at once, in the same turn', async (t) => {
    const store = createSqliteStore({ dataDir: tempDataDir(t) });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    for (let i = 1; i <= 5; i++) {
      const write = store.updateSecret('x', putVersion('x', { v: String(i) }, { maxVersions: 2 }));
      await write;
      assert.equal((await store.getSecretVersion('x', 0))?.version?.data['v'], String(i));
    }
  });
});
