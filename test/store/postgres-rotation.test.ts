/**
 * Root-key rotation with several stores (replicas) on one PostgreSQL database (ADR 0044): a
 * replica that has not yet learnt of a rotation begun elsewhere can neither write under the old
 * key (the database's trigger refuses the row; the store reads the generations again and writes
 * under the new one) nor miss rows re-sealed meanwhile; two replicas re-sealing at once lose
 * nothing; and a replica that slept through a whole rotation is told its key was retired.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { generateRootKey, RetiredRootKeyError, type SecretStore } from '@spike-ts/core';
import { openPostgresStore } from '@spike-ts/store';
import { asDdlRole, preparedDatabase, putVersion, socketConnection } from '@spike-ts/store/testing';
import { clusterForFile } from './cluster-for-file.ts';

const cluster = clusterForFile();

async function replicas(count: number, rootKey: Uint8Array, database?: string): Promise<SecretStore[]> {
  database ??= await preparedDatabase(cluster);
  const stores: SecretStore[] = [];
  for (let i = 0; i < count; i++) {
    const store = await openPostgresStore({
      connection: socketConnection(cluster, cluster.runtimeRole, database),
      schema: 'check',
      pool: { maxConnections: 4 },
    });
    await store.unlock(rootKey);
    stores.push(store);
  }
  return stores;
}

async function finishRotation(store: SecretStore): Promise<void> {
  const rotation = store.rotation;
  assert.ok(rotation !== undefined);
  for (;;) {
    while ((await rotation.resealBatch(7)) > 0);
    if (await rotation.finish(Date.now())) return;
  }
}

describe('postgres: root-key rotation across replicas', { timeout: 120_000 }, () => {
  it('a replica that has not learnt of the rotation writes and reads through it; nothing is lost', async () => {
    const oldKey = generateRootKey();
    const [a, b] = await replicas(2, oldKey);
    assert.ok(a !== undefined && b !== undefined);
    try {
      for (let i = 0; i < 20; i++)
        await a.updateSecret(`s/${String(i)}`, putVersion(`s/${String(i)}`, { v: `${String(i)}` }));
      await a.rotation?.begin(generateRootKey(), Date.now());
      await a.rotation?.resealBatch(10);

      // B still seals under generation 1: the trigger refuses it, B follows and writes again.
      assert.equal(b.rotation?.status().generation, 1);
      assert.equal(await b.updateSecret('s/from-b', putVersion('s/from-b', { v: 'b' })), 1);
      assert.equal(b.rotation?.status().generation, 2, 'B learnt of the rotation');
      // Both replicas re-seal at once (compare-and-set per row).
      await Promise.all([finishRotation(a), finishRotation(b)]);
      for (const store of [a, b]) {
        assert.equal(store.rotation?.status().rotating, undefined);
        for (let i = 0; i < 20; i++) {
          assert.equal(
            (await store.getSecretVersion(`s/${String(i)}`, 0))?.version?.data['v'],
            `${String(i)}`,
          );
        }
        assert.equal((await store.getSecretVersion('s/from-b', 0))?.version?.data['v'], 'b');
        assert.equal((await store.rotation?.countRows())?.old, 0);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a row sealed under the old generation is refused by the database itself', async () => {
    const database = await preparedDatabase(cluster);
    const [a] = await replicas(1, generateRootKey(), database);
    assert.ok(a !== undefined);
    try {
      await a.updateSecret('x', putVersion('x', { v: '1' }));
      await a.rotation?.begin(generateRootKey(), Date.now());
      // The row as it is (generation 1 in its header) written again: refused, whoever writes it.
      await asDdlRole(cluster, database, async (client) => {
        await assert.rejects(
          client.query('UPDATE spike.secrets SET envelope = envelope'),
          (err: unknown) => err instanceof pg.DatabaseError && err.code === '40001',
        );
      });
      await finishRotation(a);
      assert.equal((await a.getSecretVersion('x', 0))?.version?.data['v'], '1');
    } finally {
      await a.close();
    }
  });

  it('a replica that slept through a whole rotation learns that its key was retired', async () => {
    const oldKey = generateRootKey();
    const [a, b] = await replicas(2, oldKey);
    assert.ok(a !== undefined && b !== undefined);
    try {
      await a.updateSecret('k', putVersion('k', { v: '1' }));
      await a.rotation?.begin(generateRootKey(), Date.now());
      await finishRotation(a);
      await assert.rejects(b.rotation?.refresh() ?? Promise.resolve(), RetiredRootKeyError);
      await assert.rejects(b.unlock(oldKey), RetiredRootKeyError);
      assert.equal((await a.getSecretVersion('k', 0))?.version?.data['v'], '1');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
