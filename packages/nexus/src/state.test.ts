import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, silentLogger, WrongRootKeyError, type SecretStore } from '@spike-ts/core';
import { createMemoryStore, createSqliteStore } from '@spike-ts/store';
import { createNexusState, NotReadyError, RootKeyConflictError } from './state.ts';

async function withSqlite(fn: (dataDir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'spx-state-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const policy = {
  name: 'readers',
  spiffeIdPattern: '^spiffe://spike\\.ist/workload/.*$',
  pathPattern: '^app/.*$',
  permissions: ['read' as const],
  createdTime: 1,
  updatedTime: 1,
};

describe('NexusState', () => {
  it('memory backend: ready at start, a random cipher key, no root key', async () => {
    const a = await createNexusState({ store: createMemoryStore(), logger: silentLogger });
    const b = await createNexusState({ store: createMemoryStore(), logger: silentLogger });
    assert.equal(a.isReady(), true);
    assert.equal(a.hasRootKey(), false);
    const ka = a.withCipherKey((k) => new Uint8Array(k));
    const kb = b.withCipherKey((k) => new Uint8Array(k));
    assert.equal(ka.length, 32);
    assert.notDeepEqual(ka, kb);
    assert.throws(() => a.withRootKey(() => 0), NotReadyError);
    await assert.rejects(a.installRootKey(randomBytes(32)));
    let called = 0;
    a.onReady(() => called++);
    assert.equal(called, 1);
  });

  it('sqlite: locked until the root key is installed, then loads and compiles policies once', async () => {
    await withSqlite(async (dir) => {
      const rootKey = randomBytes(32);
      // Seed a policy under this root key.
      const seed = createSqliteStore({ dataDir: dir });
      await seed.unlock(new Uint8Array(rootKey));
      await seed.putPolicy(policy);
      await seed.close();

      const store = createSqliteStore({ dataDir: dir });
      let listed = 0;
      const counting: SecretStore = Object.assign(Object.create(store) as SecretStore, {
        listPolicies: () => {
          listed++;
          return store.listPolicies();
        },
      });
      const state = await createNexusState({ store: counting, logger: silentLogger });
      assert.equal(state.isReady(), false);
      assert.throws(() => state.withCipherKey(() => 0), NotReadyError);
      let readyCalls = 0;
      state.onReady(() => readyCalls++);

      const copy = new Uint8Array(rootKey);
      await state.installRootKey(copy);
      assert.equal(state.isReady(), true);
      assert.equal(readyCalls, 1);
      assert.equal(listed, 1);
      assert.equal(state.policies.size, 1);
      assert.equal(state.policies.check('spiffe://spike.ist/workload/x', 'app/db', ['read']).allowed, true);
      // The state keeps its own copy: zeroing the caller's buffer changes nothing.
      copy.fill(0);
      assert.deepEqual(
        state.withRootKey((k) => new Uint8Array(k)),
        rootKey,
      );
      // The cipher key is a derived purpose key, not the root key.
      const cipherKey = state.withCipherKey((k) => new Uint8Array(k));
      assert.notDeepEqual(cipherKey, rootKey);

      // Same key again: no-op. Different key: refused, nothing changes.
      await state.installRootKey(new Uint8Array(rootKey));
      assert.equal(listed, 1);
      await assert.rejects(state.installRootKey(randomBytes(32)), RootKeyConflictError);
      assert.deepEqual(
        state.withRootKey((k) => new Uint8Array(k)),
        rootKey,
      );
      state.close();
      assert.equal(state.isReady(), false);
      await store.close();
    });
  });

  it('sqlite: a wrong root key propagates WrongRootKeyError and leaves the state not ready', async () => {
    await withSqlite(async (dir) => {
      const seed = createSqliteStore({ dataDir: dir });
      await seed.unlock(randomBytes(32));
      await seed.close();
      const store = createSqliteStore({ dataDir: dir });
      const state = await createNexusState({ store, logger: silentLogger });
      await assert.rejects(state.installRootKey(randomBytes(32)), WrongRootKeyError);
      assert.equal(state.isReady(), false);
      assert.equal(state.hasRootKey(), false);
      await assert.rejects(state.installRootKey(new Uint8Array(5)), RangeError);
      await store.close();
    });
  });
});
