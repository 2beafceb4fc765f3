import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import type { SecretStore } from '@spike-ts/core';
import { putVersion, samplePolicy } from './contract-fixture.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { rawDb, tempDataDir } from './sqlite-test-kit.ts';
import { StoreIntegrityError } from './store-error.ts';

/**
 * Writes two secrets (three versions each) and two policies, closes the store, lets `tamper`
 * edit the file directly, then reopens and unlocks it.
 */
async function tampered(
  t: TestContext,
  tamper: (db: ReturnType<typeof rawDb>) => void,
): Promise<SecretStore> {
  const dataDir = tempDataDir(t);
  const key = randomBytes(32);
  const writer = createSqliteStore({ dataDir });
  await writer.unlock(key);
  for (const path of ['one', 'two']) {
    for (let i = 1; i <= 3; i++) await writer.updateSecret(path, putVersion(path, { v: `${path}-${i}` }));
  }
  await writer.putPolicy(samplePolicy('alpha'));
  await writer.putPolicy(samplePolicy('beta', { permissions: ['super'] }));
  await writer.close();
  const db = rawDb(dataDir);
  try {
    tamper(db);
  } finally {
    db.close();
  }
  const store = createSqliteStore({ dataDir });
  t.after(() => store.close());
  await store.unlock(key);
  return store;
}

const blob = (db: ReturnType<typeof rawDb>, sql: string, ...params: (number | Uint8Array)[]): Uint8Array => {
  const row = db.prepare(sql).get(...params);
  assert.ok(row, sql);
  return row['envelope'] as Uint8Array;
};
const pathIds = (db: ReturnType<typeof rawDb>): Uint8Array[] =>
  db
    .prepare('SELECT path_id FROM secrets ORDER BY path_id')
    .all()
    .map((r) => r['path_id'] as Uint8Array);

describe('sqlite store: tampering is detected, never skipped', () => {
  it('reads back untampered data (control)', async (t) => {
    const store = await tampered(t, () => undefined);
    assert.equal((await store.getSecret('one'))?.versions.length, 3);
    assert.deepEqual(await store.listSecretPaths(), ['one', 'two']);
    assert.equal((await store.listPolicies()).length, 2);
  });

  it('detects one edited byte in a version row', async (t) => {
    const store = await tampered(t, (db) => {
      const env = Uint8Array.from(blob(db, 'SELECT envelope FROM secret_versions WHERE version = 2 LIMIT 1'));
      env[env.length - 20]! ^= 0x01;
      db.prepare(
        'UPDATE secret_versions SET envelope = ? WHERE version = 2 AND path_id = (SELECT path_id FROM secret_versions WHERE version = 2 LIMIT 1)',
      ).run(env);
    });
    const results = await Promise.allSettled([store.getSecret('one'), store.getSecret('two')]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(failed.reason instanceof StoreIntegrityError);
    assert.doesNotMatch(String(failed.reason.message), /one|two/);
  });

  it('detects two version rows whose envelopes were swapped', async (t) => {
    const store = await tampered(t, (db) => {
      const [id] = pathIds(db);
      const v1 = blob(db, 'SELECT envelope FROM secret_versions WHERE path_id = ? AND version = 1', id!);
      const v2 = blob(db, 'SELECT envelope FROM secret_versions WHERE path_id = ? AND version = 2', id!);
      const update = db.prepare('UPDATE secret_versions SET envelope = ? WHERE path_id = ? AND version = ?');
      update.run(v2, id!, 1);
      update.run(v1, id!, 2);
    });
    const results = await Promise.allSettled([store.getSecret('one'), store.getSecret('two')]);
    assert.equal(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof StoreIntegrityError).length,
      1,
    );
  });

  it('detects a version row moved to another secret', async (t) => {
    const store = await tampered(t, (db) => {
      const [a, b] = pathIds(db);
      const env = blob(db, 'SELECT envelope FROM secret_versions WHERE path_id = ? AND version = 3', a!);
      db.prepare('UPDATE secret_versions SET envelope = ? WHERE path_id = ? AND version = 3').run(env, b!);
    });
    const results = await Promise.allSettled([store.getSecret('one'), store.getSecret('two')]);
    assert.equal(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof StoreIntegrityError).length,
      1,
    );
  });

  it('detects swapped secret rows, in reads and in listing', async (t) => {
    const store = await tampered(t, (db) => {
      const [a, b] = pathIds(db);
      const ea = blob(db, 'SELECT envelope FROM secrets WHERE path_id = ?', a!);
      const eb = blob(db, 'SELECT envelope FROM secrets WHERE path_id = ?', b!);
      const update = db.prepare('UPDATE secrets SET envelope = ? WHERE path_id = ?');
      update.run(eb, a!);
      update.run(ea, b!);
    });
    await assert.rejects(store.getSecret('one'), StoreIntegrityError);
    await assert.rejects(store.getSecret('two'), StoreIntegrityError);
    await assert.rejects(store.listSecretPaths(), StoreIntegrityError);
  });

  it('detects a deleted version row and an injected one', async (t) => {
    const deleted = await tampered(t, (db) => {
      db.prepare('DELETE FROM secret_versions WHERE version = 1').run();
    });
    await assert.rejects(deleted.getSecret('one'), StoreIntegrityError);
    await assert.rejects(deleted.getSecret('two'), StoreIntegrityError);
    const injected = await tampered(t, (db) => {
      const [a] = pathIds(db);
      const env = blob(db, 'SELECT envelope FROM secret_versions WHERE path_id = ? AND version = 3', a!);
      db.prepare('INSERT INTO secret_versions (path_id, version, envelope) VALUES (?, 4, ?)').run(a!, env);
    });
    const results = await Promise.allSettled([injected.getSecret('one'), injected.getSecret('two')]);
    assert.equal(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof StoreIntegrityError).length,
      1,
    );
  });

  it('one-version reads detect tampered, missing and injected rows too', async (t) => {
    const edited = await tampered(t, (db) => {
      const [a, b] = pathIds(db);
      const update = db.prepare('UPDATE secret_versions SET envelope = ? WHERE path_id = ? AND version = 3');
      const env = Uint8Array.from(
        blob(db, 'SELECT envelope FROM secret_versions WHERE path_id = ? AND version = 3', a!),
      );
      env[env.length - 1]! ^= 0x01;
      update.run(env, a!);
      update.run(env, b!);
    });
    await assert.rejects(edited.getSecretVersion('one', 0), StoreIntegrityError);
    await assert.rejects(edited.getSecretVersion('two', 3), StoreIntegrityError);
    assert.equal((await edited.getSecretVersion('one', 2))?.version?.data['v'], 'one-2');

    const missing = await tampered(t, (db) => {
      db.prepare('DELETE FROM secret_versions WHERE version = 3').run();
    });
    await assert.rejects(missing.getSecretVersion('one', 0), StoreIntegrityError);

    const orphans = await tampered(t, (db) => {
      db.prepare('DELETE FROM secrets').run();
    });
    await assert.rejects(orphans.getSecretVersion('one', 0), StoreIntegrityError);

    const swapped = await tampered(t, (db) => {
      const [a, b] = pathIds(db);
      const ea = blob(db, 'SELECT envelope FROM secrets WHERE path_id = ?', a!);
      db.prepare('UPDATE secrets SET envelope = ? WHERE path_id = ?').run(ea, b!);
    });
    const results = await Promise.allSettled([
      swapped.getSecretVersion('one', 0),
      swapped.getSecretVersion('two', 0),
    ]);
    assert.equal(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof StoreIntegrityError).length,
      1,
    );
  });

  it('detects version rows left without their secret row', async (t) => {
    const store = await tampered(t, (db) => {
      const [a] = pathIds(db);
      db.prepare('DELETE FROM secrets WHERE path_id = ?').run(a!);
    });
    const results = await Promise.allSettled([store.getSecret('one'), store.getSecret('two')]);
    assert.equal(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof StoreIntegrityError).length,
      1,
    );
  });

  it('detects edited and swapped policy rows', async (t) => {
    const edited = await tampered(t, (db) => {
      const row = db.prepare('SELECT name_id, envelope FROM policies LIMIT 1').get()!;
      const env = Uint8Array.from(row['envelope'] as Uint8Array);
      env[10]! ^= 0x80;
      db.prepare('UPDATE policies SET envelope = ? WHERE name_id = ?').run(env, row['name_id'] as Uint8Array);
    });
    await assert.rejects(edited.listPolicies(), StoreIntegrityError);
    const swapped = await tampered(t, (db) => {
      const rows = db.prepare('SELECT name_id, envelope FROM policies').all();
      const update = db.prepare('UPDATE policies SET envelope = ? WHERE name_id = ?');
      update.run(rows[1]!['envelope'] as Uint8Array, rows[0]!['name_id'] as Uint8Array);
      update.run(rows[0]!['envelope'] as Uint8Array, rows[1]!['name_id'] as Uint8Array);
    });
    await assert.rejects(swapped.getPolicy('alpha'), StoreIntegrityError);
    await assert.rejects(swapped.getPolicy('beta'), StoreIntegrityError);
    await assert.rejects(swapped.listPolicies(), StoreIntegrityError);
  });
});
