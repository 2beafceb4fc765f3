/**
 * The root-key rotation part of the store contract (ADR 0044): every persistent backend re-seals
 * every row under a new root-key generation while it keeps serving, accepts either key while the
 * rotation is unfinished, and refuses the old key as retired once it is finished. Non-persistent
 * backends have no root key and offer no rotation.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test tracks the promises describe/it return */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import {
  constantTimeEqual,
  derivePurposeKey,
  generateRootKey,
  RetiredRootKeyError,
  RotationInProgressError,
  WrongRootKeyError,
  type RootKeyRotation,
  type SecretStore,
} from '@spike-ts/core';
import { putVersion, samplePolicy, softDelete } from './contract-fixture.ts';

type Open = (t: TestContext, rootKey: Uint8Array) => Promise<SecretStore>;

function rotationOf(store: SecretStore): RootKeyRotation {
  const rotation = store.rotation;
  assert.ok(rotation !== undefined, 'a persistent store offers rotation');
  return rotation;
}

/** Re-seals until a pass finds nothing left, then finishes (finishing again when told to). */
async function completeRotation(rotation: RootKeyRotation, batch = 3): Promise<number> {
  let batches = 0;
  for (;;) {
    while ((await rotation.resealBatch(batch)) > 0) batches++;
    if (await rotation.finish(Date.UTC(2026, 0, 2))) return batches;
  }
}

async function fill(store: SecretStore, secrets: number): Promise<void> {
  for (let i = 0; i < secrets; i++) {
    const path = `apps/s${String(i)}`;
    for (let v = 0; v < 3; v++)
      await store.updateSecret(path, putVersion(path, { v: `${String(i)}.${String(v)}` }));
  }
  await store.updateSecret('apps/s0', softDelete(2, Date.UTC(2025, 5, 1)));
  for (let i = 0; i < 4; i++) await store.putPolicy(samplePolicy(`p${String(i)}`));
}

async function expectContent(
  store: SecretStore,
  secrets: number,
  extra: Record<string, string> = {},
): Promise<void> {
  for (let i = 0; i < secrets; i++) {
    const record = await store.getSecret(`apps/s${String(i)}`);
    assert.deepEqual(
      record?.versions.map((v) => v.data['v']),
      [0, 1, 2].map((v) => `${String(i)}.${String(v)}`),
    );
    assert.equal(
      (await store.getSecretVersion(`apps/s${String(i)}`, 3))?.version?.data['v'],
      `${String(i)}.2`,
    );
  }
  assert.notEqual((await store.getSecret('apps/s0'))?.versions[1]?.deletedTime, null);
  for (const [path, value] of Object.entries(extra)) {
    assert.equal((await store.getSecretVersion(path, 0))?.version?.data['v'], value);
  }
  assert.deepEqual(
    (await store.listPolicies()).map((p) => p.name),
    ['p0', 'p1', 'p2', 'p3'],
  );
  assert.deepEqual(await store.listDamagedRows(), []);
}

export function rotationContract(open: Open): void {
  describe('root-key rotation', () => {
    it('a store without a root key offers none; a persistent one starts at generation 1', async (t) => {
      const store = await open(t, generateRootKey());
      if (!store.persistent) {
        assert.equal(store.rotation, undefined);
        return;
      }
      assert.deepEqual(store.rotation?.status(), { generation: 1 });
    });

    it('re-seals every row in bounded batches while writes go on; the old key is then retired', async (t) => {
      const oldKey = generateRootKey();
      const newKey = generateRootKey();
      const store = await open(t, oldKey);
      if (!store.persistent) return;
      await fill(store, 5);
      const rotation = rotationOf(store);
      assert.deepEqual(rotation.status(), { generation: 1 });
      const before = await rotation.countRows();
      assert.equal(before.old, 0);

      await rotation.begin(newKey, Date.UTC(2026, 0, 1));
      const status = rotation.status();
      assert.equal(status.generation, 2);
      assert.deepEqual(status.rotating, { from: 1, to: 2, startedAt: Date.UTC(2026, 0, 1) });
      assert.ok(rotation.withRootKey((k) => constantTimeEqual(k, newKey)));
      assert.equal((await rotation.countRows()).old, before.total);

      // One batch, then writes and reads in between, then the rest.
      assert.equal(await rotation.resealBatch(4), 4);
      const during = await rotation.countRows();
      assert.equal(during.old, before.total - 4);
      await store.updateSecret('apps/new', putVersion('apps/new', { v: 'during' }));
      await store.putPolicy(samplePolicy('p3', { permissions: ['read'] }));
      await Promise.all([
        store.updateSecret('apps/s1', putVersion('apps/s1', { v: 'x' })),
        rotation.resealBatch(5),
        store.getSecret('apps/s2'),
      ]);
      await store.updateSecret('apps/s1', (current) => ({
        next: current === undefined ? undefined : { ...current, versions: current.versions.slice(0, 3) },
        result: 0,
      }));
      assert.ok((await completeRotation(rotation)) >= 1);

      assert.deepEqual(rotation.status(), { generation: 2, lastRotatedAt: Date.UTC(2026, 0, 2) });
      const after = await rotation.countRows();
      assert.equal(after.old, 0);
      await expectContent(store, 5, { 'apps/new': 'during' });
      assert.deepEqual((await store.getPolicy('p3'))?.permissions, ['read']);

      await assert.rejects(store.unlock(oldKey), RetiredRootKeyError);
      await assert.rejects(store.unlock(generateRootKey()), (err: unknown) => {
        assert.ok(err instanceof WrongRootKeyError && !(err instanceof RetiredRootKeyError));
        return true;
      });
      await store.unlock(newKey);
      await expectContent(store, 5, { 'apps/new': 'during' });
    });

    it('while unfinished either key unlocks both generations; finishing waits for the last row', async (t) => {
      const oldKey = generateRootKey();
      const newKey = generateRootKey();
      const store = await open(t, oldKey);
      if (!store.persistent) return;
      await fill(store, 3);
      const rotation = rotationOf(store);
      await rotation.begin(newKey, Date.UTC(2026, 0, 1));
      await rotation.resealBatch(5);

      // What a restart that recovered the old key from the keepers does: unlock with it.
      await store.unlock(oldKey);
      assert.equal(rotation.status().rotating?.to, 2);
      assert.ok(
        rotation.withRootKey((k) => constantTimeEqual(k, newKey)),
        'the old key yields the new one',
      );
      await expectContent(store, 3);
      await store.unlock(newKey);
      await expectContent(store, 3);
      await assert.rejects(store.unlock(generateRootKey()), WrongRootKeyError);

      await assert.rejects(rotation.begin(generateRootKey(), Date.UTC(2026, 0, 1)), RotationInProgressError);
      // `finish` re-seals what is left itself and says to look again; never retires early.
      assert.equal(await rotation.finish(Date.UTC(2026, 0, 2)), false);
      assert.equal(rotation.status().rotating?.to, 2);
      await completeRotation(rotation);
      await assert.rejects(store.unlock(oldKey), RetiredRootKeyError);
      await expectContent(store, 3);
    });

    it('rotates again: every earlier key is retired; cipher keys of older generations are kept', async (t) => {
      const keys = [generateRootKey(), generateRootKey(), generateRootKey()];
      const store = await open(t, keys[0] as Uint8Array);
      if (!store.persistent) return;
      await fill(store, 2);
      const rotation = rotationOf(store);
      for (const [i, next] of [keys[1], keys[2]].entries()) {
        await rotation.begin(next as Uint8Array, Date.UTC(2026, 0, 1 + i));
        await completeRotation(rotation, 100);
      }
      assert.equal(rotation.status().generation, 3);
      const older = rotation.olderCipherKeys();
      assert.equal(older.length, 2);
      const expected = [keys[1], keys[0]].map((k) => derivePurposeKey(k as Uint8Array, 'cipher'));
      older.forEach((k, i) => assert.ok(constantTimeEqual(k, expected[i] as Uint8Array)));
      for (const [i, k] of [keys[0], keys[1]].entries()) {
        await assert.rejects(store.unlock(k as Uint8Array), (err: unknown) => {
          assert.ok(err instanceof RetiredRootKeyError);
          assert.equal(err.generation, i + 1);
          return true;
        });
      }
      await store.unlock(keys[2] as Uint8Array);
      await expectContent(store, 2);
    });

    it('an empty store rotates too', async (t) => {
      const store = await open(t, generateRootKey());
      if (!store.persistent) return;
      const rotation = rotationOf(store);
      assert.deepEqual(await rotation.countRows(), { total: 0, old: 0 });
      await rotation.begin(generateRootKey(), 1);
      assert.equal(await rotation.resealBatch(10), 0);
      assert.equal(await rotation.finish(2), true);
      assert.equal(rotation.status().generation, 2);
      await store.updateSecret('a', putVersion('a', { v: '1' }));
      assert.equal((await store.getSecretVersion('a', 0))?.version?.data['v'], '1');
    });
  });
}
