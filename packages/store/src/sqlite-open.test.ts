import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { randomBytes, silentLogger } from '@spike-ts/core';
import { putVersion } from './contract-fixture.ts';
import { DEFAULT_PAGE_CACHE_KIB, openSqliteDatabase, PAGE_SIZE, SQLITE_FILE_NAME } from './sqlite-open.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { count, rawDb, tempDataDir } from './sqlite-test-kit.ts';

const pageSize = (db: DatabaseSync): number => Number(db.prepare('PRAGMA page_size').get()?.['page_size']);

/** Pages of the version b-tree that are overflow pages (rows that did not fit in their page). */
const overflowPages = (db: DatabaseSync): number =>
  Number(
    db
      .prepare("SELECT count(*) AS n FROM dbstat WHERE name = 'secret_versions' AND pagetype = 'overflow'")
      .get()?.['n'],
  );

describe('sqlite file layout', () => {
  it('creates new files with 8 KiB pages, so 1 KiB secrets need no overflow pages', async (t) => {
    const dataDir = tempDataDir(t);
    const store = createSqliteStore({ dataDir });
    await store.unlock(randomBytes(32));
    const value = 'x'.repeat(1024);
    for (let i = 0; i < 20; i++)
      await store.updateSecret(`app/${String(i)}`, putVersion(`app/${String(i)}`, { value }));
    await store.close();
    const db = rawDb(dataDir);
    t.after(() => db.close());
    assert.equal(pageSize(db), PAGE_SIZE);
    assert.equal(count(db, 'secret_versions'), 20);
    let dbstat = true;
    try {
      overflowPages(db);
    } catch {
      dbstat = false; // SQLite built without the dbstat table: the page size check above still holds.
    }
    if (dbstat) assert.equal(overflowPages(db), 0);
  });

  it('keeps the page size of an existing file and reads it normally', async (t) => {
    const dataDir = tempDataDir(t);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const old = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME));
    old.exec('PRAGMA page_size = 4096');
    old.exec('PRAGMA journal_mode = WAL');
    old.exec('CREATE TABLE probe (x)');
    old.close();
    const key = randomBytes(32);
    const store = createSqliteStore({ dataDir });
    await store.unlock(key);
    await store.updateSecret('a/b', putVersion('a/b', { k: 'v' }));
    assert.deepEqual((await store.getSecret('a/b'))?.versions.at(-1)?.data, { k: 'v' });
    await store.close();
    const db = rawDb(dataDir);
    t.after(() => db.close());
    assert.equal(pageSize(db), 4096);
  });
});

describe('sqlite page cache', () => {
  const cacheSize = (db: DatabaseSync): number =>
    Number(db.prepare('PRAGMA cache_size').get()?.['cache_size']);
  const open = (dataDir: string, pageCacheKiB?: number) =>
    openSqliteDatabase({
      dataDir,
      journalMode: 'WAL',
      busyTimeoutMs: 100,
      logger: silentLogger,
      ...(pageCacheKiB === undefined ? {} : { pageCacheKiB }),
    });

  it('is 64 MiB by default and as asked otherwise (negative cache_size = KiB)', (t) => {
    const dataDir = tempDataDir(t);
    const first = open(dataDir);
    assert.equal(cacheSize(first.db), -DEFAULT_PAGE_CACHE_KIB);
    first.db.close();
    const small = open(dataDir, 8192);
    assert.equal(cacheSize(small.db), -8192);
    small.db.close();
  });

  it('refuses a size that is not a whole number of KiB in range', (t) => {
    const dataDir = tempDataDir(t);
    for (const bad of [0, 63, 1.5, -1, 2_000_000, Number.NaN]) {
      assert.throws(() => open(dataDir, bad), RangeError);
    }
  });

  it('a store opened with a small page cache reads and writes as usual', async (t) => {
    const dataDir = tempDataDir(t);
    const store = createSqliteStore({ dataDir, pageCacheKiB: 64 });
    await store.unlock(randomBytes(32));
    const value = 'y'.repeat(1024);
    for (let i = 0; i < 50; i++)
      await store.updateSecret(`p/${String(i)}`, putVersion(`p/${String(i)}`, { value }));
    const read = await store.getSecretVersion('p/49', 0);
    assert.equal(read?.version?.data.value, value);
    await store.close();
  });
});
