import assert from 'node:assert/strict';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { randomBytes, WrongRootKeyError } from '@spike-ts/core';
import { putVersion, samplePolicy } from './contract-fixture.ts';
import { SQLITE_FILE_NAME } from './sqlite-open.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { count, rawDb, tempDataDir } from './sqlite-test-kit.ts';
import { StoreLockedError } from './store-error.ts';

describe('sqlite store: persistence and protection at rest', () => {
  it('keeps data across close and reopen, after unlock with the same key', async (t) => {
    const dataDir = tempDataDir(t);
    const key = randomBytes(32);
    const first = createSqliteStore({ dataDir });
    await first.unlock(key);
    await first.updateSecret('apps/x', putVersion('apps/x', { token: 't1' }));
    await first.updateSecret('apps/x', putVersion('apps/x', { token: 't2' }));
    await first.putPolicy(samplePolicy('readers'));
    await first.close();

    const second = createSqliteStore({ dataDir });
    t.after(() => second.close());
    assert.equal(second.isUnlocked(), false);
    assert.equal(await second.isInitialized(), true);
    await second.unlock(key);
    assert.deepEqual(
      (await second.getSecret('apps/x'))?.versions.map((v) => v.data['token']),
      ['t1', 't2'],
    );
    assert.deepEqual(await second.listSecretPaths(), ['apps/x']);
    assert.equal((await second.getPolicy('readers'))?.pathPattern, samplePolicy('readers').pathPattern);
  });

  it('refuses a wrong root key with WrongRootKeyError and stays locked', async (t) => {
    const dataDir = tempDataDir(t);
    const first = createSqliteStore({ dataDir });
    await first.unlock(randomBytes(32));
    await first.close();
    const second = createSqliteStore({ dataDir });
    t.after(() => second.close());
    await assert.rejects(second.unlock(randomBytes(32)), WrongRootKeyError);
    assert.equal(second.isUnlocked(), false);
    await assert.rejects(second.listSecretPaths(), StoreLockedError);
  });

  it('rejects every data method while locked but answers isInitialized', async (t) => {
    const store = createSqliteStore({ dataDir: tempDataDir(t) });
    t.after(() => store.close());
    assert.equal(await store.isInitialized(), false);
    const calls: (() => Promise<unknown>)[] = [
      () => store.getSecret('a'),
      () => store.updateSecret('a', putVersion('a', {})),
      () => store.listSecretPaths(),
      () => store.getPolicy('p'),
      () => store.listPolicies(),
      () => store.putPolicy(samplePolicy('p')),
      () => store.deletePolicy('p'),
    ];
    for (const call of calls) await assert.rejects(call(), StoreLockedError);
    assert.equal(await store.isInitialized(), false);
  });

  it('writes neither secret values, nor paths, nor policy contents in plaintext', async (t) => {
    const dataDir = tempDataDir(t);
    const store = createSqliteStore({ dataDir });
    await store.unlock(randomBytes(32));
    const needles = [
      'needle-path-7f3a',
      'needle-key-91c2',
      'needle-value-5be8',
      'needle-policy-0d4e',
      'needle-spiffe-c6a1',
    ];
    const [path, dataKey, value, policyName, spiffe] = needles as [string, string, string, string, string];
    await store.updateSecret(path, putVersion(path, { [dataKey]: value }));
    await store.updateSecret(path, putVersion(path, { [dataKey]: value + '-2' }));
    await store.putPolicy(samplePolicy(policyName, { spiffeIdPattern: spiffe }));
    const file = join(dataDir, SQLITE_FILE_NAME);
    const scan = (): void => {
      const bytes = Buffer.concat(
        [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
      );
      assert.ok(bytes.length > 0);
      for (const needle of needles) {
        assert.equal(bytes.includes(Buffer.from(needle, 'utf8')), false, `${needle} found in plaintext`);
        assert.equal(bytes.includes(Buffer.from(needle, 'utf16le')), false, `${needle} found as UTF-16`);
      }
    };
    assert.ok(existsSync(`${file}-wal`), 'WAL file exists while the store is open');
    scan();
    await store.close();
    scan();
  });

  it('creates the data directory 0700 and the database files 0600', async (t) => {
    const dataDir = tempDataDir(t);
    const store = createSqliteStore({ dataDir });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    await store.updateSecret('a', putVersion('a', { k: 'v' }));
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    const file = join(dataDir, SQLITE_FILE_NAME);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
  });

  it('deletes pruned version rows and rewrites only what changed', async (t) => {
    const dataDir = tempDataDir(t);
    const store = createSqliteStore({ dataDir });
    t.after(() => store.close());
    await store.unlock(randomBytes(32));
    const envelopes = (): Map<number, string> => {
      const db = rawDb(dataDir);
      try {
        const rows = db.prepare('SELECT version, envelope FROM secret_versions ORDER BY version').all();
        return new Map(
          rows.map((r) => [Number(r['version']), Buffer.from(r['envelope'] as Uint8Array).toString('hex')]),
        );
      } finally {
        db.close();
      }
    };
    await store.updateSecret('p', putVersion('p', { n: '1' }, { maxVersions: 3 }));
    const v1 = envelopes().get(1);
    await store.updateSecret('p', putVersion('p', { n: '2' }));
    assert.equal(envelopes().get(1), v1, 'an unchanged version row is not rewritten');
    for (let i = 3; i <= 6; i++) await store.updateSecret('p', putVersion('p', { n: String(i) }));
    assert.deepEqual([...envelopes().keys()], [4, 5, 6]);
    const db = rawDb(dataDir);
    t.after(() => db.close());
    assert.equal(count(db, 'secret_versions'), 3);
    assert.equal(count(db, 'secrets'), 1);
    assert.deepEqual(
      (await store.getSecret('p'))?.versions.map((v) => v.version),
      [4, 5, 6],
    );
  });

  it('validates its options', (t) => {
    const dataDir = tempDataDir(t);
    assert.throws(() => createSqliteStore({ dataDir, journalMode: 'OFF' as 'WAL' }), RangeError);
    assert.throws(
      () => createSqliteStore({ dataDir, journalMode: 'WAL; DROP TABLE x' as 'WAL' }),
      RangeError,
    );
    assert.throws(() => createSqliteStore({ dataDir, busyTimeoutMs: -1 }), RangeError);
    assert.throws(() => createSqliteStore({ dataDir, maxBatchSize: 0 }), RangeError);
    assert.throws(() => createSqliteStore({ dataDir: '' }), TypeError);
  });
});
