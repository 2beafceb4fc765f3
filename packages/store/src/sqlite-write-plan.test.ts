import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import type { SecretStore } from '@spike-ts/core';
import { putVersion, softDelete, T0 } from './contract-fixture.ts';
import { createRowCodec } from './row-codec.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { rawDb, tempDataDir } from './sqlite-test-kit.ts';
import { StoreIntegrityError } from './store-error.ts';

type Raw = ReturnType<typeof rawDb>;

/** Rewrites every `secrets` row with `edit` applied to its opened head (sealed again with the same key). */
function rewriteHeads(
  dataDir: string,
  key: Uint8Array,
  edit: (
    head: ReturnType<ReturnType<typeof createRowCodec>['openHead']>,
  ) => Parameters<ReturnType<typeof createRowCodec>['sealHead']>[1],
): void {
  const codec = createRowCodec(key);
  const db: Raw = rawDb(dataDir);
  try {
    for (const row of db.prepare('SELECT path_id, envelope FROM secrets').all()) {
      const id = row['path_id'] as Uint8Array;
      const head = codec.openHead(id, row['envelope'] as Uint8Array);
      db.prepare('UPDATE secrets SET envelope = ? WHERE path_id = ?').run(codec.sealHead(id, edit(head)), id);
    }
  } finally {
    db.close();
    codec.destroy();
  }
}

async function storeWith(t: TestContext, dataDir: string, key: Uint8Array): Promise<SecretStore> {
  const store = createSqliteStore({ dataDir });
  t.after(() => store.close());
  await store.unlock(Uint8Array.from(key));
  return store;
}

const versionEnvelopes = (dataDir: string): Map<number, string> => {
  const db = rawDb(dataDir);
  try {
    return new Map(
      db
        .prepare('SELECT version, envelope FROM secret_versions')
        .all()
        .map((r) => [Number(r['version']), Buffer.from(r['envelope'] as Uint8Array).toString('hex')]),
    );
  } finally {
    db.close();
  }
};

describe('sqlite store: writes plan from the head, opening only what they change', () => {
  it('a put leaves the rows of the versions it keeps byte for byte', async (t) => {
    const dataDir = tempDataDir(t);
    const store = await storeWith(t, dataDir, randomBytes(32));
    for (let i = 1; i <= 3; i++) await store.updateSecret('s', putVersion('s', { v: String(i) }));
    const before = versionEnvelopes(dataDir);
    await store.updateSecret('s', putVersion('s', { v: '4' }));
    const after = versionEnvelopes(dataDir);
    for (const v of [1, 2, 3]) assert.equal(after.get(v), before.get(v), `version ${String(v)}`);
    assert.ok(after.has(4));
  });

  it('reads and writes secrets whose heads were written without version times', async (t) => {
    const dataDir = tempDataDir(t);
    const key = randomBytes(32);
    const writer = createSqliteStore({ dataDir });
    await writer.unlock(Uint8Array.from(key));
    for (let i = 1; i <= 3; i++) {
      await writer.updateSecret('old', putVersion('old', { v: String(i) }, { maxVersions: 3, now: T0 + i }));
    }
    await writer.close();
    rewriteHeads(dataDir, key, ({ path, metadata, versions }) => ({ path, metadata, versions }));

    const store = await storeWith(t, dataDir, key);
    await store.updateSecret('old', softDelete(2, T0 + 10));
    await store.updateSecret('old', putVersion('old', { v: '4' }, { now: T0 + 11 }));
    const rec = await store.getSecret('old');
    assert.deepEqual(
      rec?.versions.map((v) => [v.version, v.data['v'], v.deletedTime]),
      [
        [2, '2', T0 + 10],
        [3, '3', null],
        [4, '4', null],
      ],
    );
    assert.equal((await store.getSecretVersion('old', 0))?.version?.data['v'], '4');
  });

  it('a head whose version times disagree with the version row is an integrity error', async (t) => {
    const dataDir = tempDataDir(t);
    const key = randomBytes(32);
    const writer = createSqliteStore({ dataDir });
    await writer.unlock(Uint8Array.from(key));
    for (let i = 1; i <= 2; i++) await writer.updateSecret('s', putVersion('s', { v: String(i) }));
    await writer.close();
    rewriteHeads(dataDir, key, (head) => ({
      ...head,
      times: (head.times ?? []).map(([c, d], i) => (i === 0 ? [c + 1, d] : [c, d])),
    }));

    const store = await storeWith(t, dataDir, key);
    await assert.rejects(store.getSecret('s'), StoreIntegrityError);
    // A write that must re-seal version 1 opens it and notices; nothing is written.
    await assert.rejects(store.updateSecret('s', softDelete(1, T0 + 5)), StoreIntegrityError);
    // A put keeps version 1 as it is: it does not need to open it.
    await store.updateSecret('s', putVersion('s', { v: '3' }));
    assert.equal((await store.getSecretVersion('s', 0))?.version?.data['v'], '3');
  });
});
