import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createLogger, randomBytes, silentLogger, WrongRootKeyError, type SecretStore } from '@spike-ts/core';
import { createMemoryStore, createSqliteStore, SQLITE_FILE_NAME } from '@spike-ts/store';
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
        scanPolicies: () => {
          listed++;
          return store.scanPolicies();
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

  it('sqlite: damaged rows do not stop the key: the rest serves, the damaged policy grants nothing', async () => {
    await withSqlite(async (dir) => {
      const rootKey = randomBytes(32);
      const seed = createSqliteStore({ dataDir: dir });
      await seed.unlock(new Uint8Array(rootKey));
      await seed.putPolicy(policy);
      await seed.putPolicy({ ...policy, name: 'writers', permissions: ['write'] });
      await seed.putPolicy({ ...policy, name: 'listers', permissions: ['list'] });
      await seed.close();
      // Swap two policy rows in the file (as someone holding it could).
      const db = new DatabaseSync(join(dir, SQLITE_FILE_NAME));
      const rows = db.prepare('SELECT name_id, envelope FROM policies ORDER BY name_id LIMIT 2').all();
      const update = db.prepare('UPDATE policies SET envelope = ? WHERE name_id = ?');
      update.run(rows[1]!['envelope'] as Uint8Array, rows[0]!['name_id'] as Uint8Array);
      update.run(rows[0]!['envelope'] as Uint8Array, rows[1]!['name_id'] as Uint8Array);
      db.close();

      const lines: string[] = [];
      const logger = createLogger({ level: 'info', sink: (l) => lines.push(l) });
      const store = createSqliteStore({ dataDir: dir });
      const state = await createNexusState({ store, logger });
      await state.installRootKey(new Uint8Array(rootKey));
      assert.equal(state.isReady(), true);
      assert.deepEqual(state.damagedRows(), { policies: 2, secrets: 0, secret_versions: 0 });
      assert.equal(state.policies.size, 1);
      const damaged = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r['level'] === 'error' && String(r['msg']).startsWith('damaged policy row'));
      assert.equal(damaged.length, 2);
      // Swapped rows name each other's place: the log says which policies grant nothing.
      const named = damaged.map((r) => r['name']).sort();
      const served = ['listers', 'readers', 'writers'].filter((n) => !named.includes(n));
      assert.equal(served.length, 1);
      assert.ok(state.policies.all().some((p) => p.name === served[0]));
      for (const r of damaged) assert.match(String(r['id']), /^[0-9a-f]{64}$/);
      state.recordDamage([]);
      assert.deepEqual(state.damagedRows(), { policies: 0, secrets: 0, secret_versions: 0 });
      state.close();
      await store.close();
    });
  });
});
