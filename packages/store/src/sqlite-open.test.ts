import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import { putVersion } from './contract-fixture.ts';
import { PAGE_SIZE, SQLITE_FILE_NAME } from './sqlite-open.ts';
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
