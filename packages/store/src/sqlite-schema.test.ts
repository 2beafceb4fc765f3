import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import { putVersion } from './contract-fixture.ts';
import { applyMigrations, latestSchemaVersion, MIGRATIONS, readSchemaVersion } from './sqlite-schema.ts';
import type { Migration } from './sqlite-schema.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { rawDb, tempDataDir } from './sqlite-test-kit.ts';
import { StoreSchemaError } from './store-error.ts';

const tables = (db: DatabaseSync): string[] =>
  db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => String(r['name']));

/** The version of a migration added after the real ones. */
const NEXT = MIGRATIONS.length + 1;
const v2: Migration = {
  version: NEXT,
  name: 'add audit',
  statements: ['CREATE TABLE audit (id INTEGER PRIMARY KEY)'],
};

describe('sqlite schema migrations', () => {
  it('brings a new database to the latest version in one go', (t) => {
    const db = new DatabaseSync(':memory:');
    t.after(() => db.close());
    assert.deepEqual(
      applyMigrations(db),
      MIGRATIONS.map((m) => m.version),
    );
    assert.equal(readSchemaVersion(db), latestSchemaVersion());
    assert.deepEqual(tables(db), ['meta', 'policies', 'root_keys', 'secret_versions', 'secrets']);
    assert.deepEqual(applyMigrations(db), [], 'a current database is left alone');
  });

  it('applies only the pending migrations, in order', (t) => {
    const db = new DatabaseSync(':memory:');
    t.after(() => db.close());
    applyMigrations(db);
    assert.deepEqual(applyMigrations(db, [...MIGRATIONS, v2]), [NEXT]);
    assert.equal(readSchemaVersion(db), NEXT);
    assert.ok(tables(db).includes('audit'));
  });

  it('rolls back every pending migration when one fails', (t) => {
    const db = new DatabaseSync(':memory:');
    t.after(() => db.close());
    applyMigrations(db);
    const broken: Migration = {
      version: NEXT + 1,
      name: 'broken',
      statements: ['CREATE TABLE nope (', 'SELECT 1'],
    };
    assert.throws(() => applyMigrations(db, [...MIGRATIONS, v2, broken]), StoreSchemaError);
    assert.equal(readSchemaVersion(db), NEXT - 1);
    assert.equal(tables(db).includes('audit'), false);
    assert.equal(db.isTransaction, false);
  });

  it('refuses a database newer than the code, and a gapped migration list', (t) => {
    const db = new DatabaseSync(':memory:');
    t.after(() => db.close());
    applyMigrations(db, [...MIGRATIONS, v2]);
    assert.throws(() => applyMigrations(db), /newer than this build supports/);
    const gapped: Migration = { ...v2, version: NEXT + 1 };
    assert.throws(() => applyMigrations(db, [...MIGRATIONS, gapped]), StoreSchemaError);
  });

  it('refuses to open a store file written by a newer schema, leaving it untouched', async (t) => {
    const dataDir = tempDataDir(t);
    const store = createSqliteStore({ dataDir });
    await store.unlock(randomBytes(32));
    await store.updateSecret('a', putVersion('a', { k: 'v' }));
    await store.close();
    const db = rawDb(dataDir);
    assert.equal(readSchemaVersion(db), latestSchemaVersion());
    db.exec(`PRAGMA user_version = ${latestSchemaVersion() + 1}`);
    db.close();
    assert.throws(() => createSqliteStore({ dataDir }), StoreSchemaError);
    const after = rawDb(dataDir);
    t.after(() => after.close());
    assert.equal(readSchemaVersion(after), latestSchemaVersion() + 1);
    assert.equal(after.prepare('SELECT count(*) AS n FROM secrets').get()?.['n'], 1);
  });
});
