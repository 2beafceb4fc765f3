/**
 * A PostgreSQL database that goes back in time under running Nexus processes (ADR 0049). Two
 * stores on one database stand for two replicas; replica A keeps its policies as each Nexus thread
 * does (`createPolicySync`: an engine tagged with the token it was loaded at, checked before every
 * decision), with every change notification lost. A grant is added and A loads it; then the database goes back to a copy taken before
 * that grant — a file-level copy of the data directory (what a failover to a standby that had not
 * received the last transactions does too: the server hands out the same transaction ids again),
 * a pg_dump restored into the running server, or the old rows put back with SQL — and a different
 * policy change brings the policies' counter to the very number A had loaded at. A's next check
 * must load the new policies (the lost grant no longer works), and A's read cache must serve no
 * secret row of the lost history, although the secret's version numbers and head revision repeat
 * too. Last, a root-key generation: a restore to before a rotation, then another rotation to the
 * same generation number with another key; a replica still holding the lost key stops using it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import {
  createPolicyEngine,
  generateRootKey,
  randomBytes,
  silentLogger,
  WrongRootKeyError,
  type PolicyEngine,
} from '@spike-ts/core';
import type { SecretStore, SharedPolicies } from '@spike-ts/core';
import { createPolicySync, type PolicySync } from '@spike-ts/nexus';
import { openPostgresStore, StoreLockedError, StoreUnavailableError } from '@spike-ts/store';
import { preparedDatabase, putVersion, samplePolicy, socketConnection } from '@spike-ts/store/testing';
import { clusterForFile } from './cluster-for-file.ts';

const cluster = clusterForFile();

const key = randomBytes(32);
const WORKLOAD = 'spiffe://example.org/app/web';

async function openStore(t: TestContext, database: string): Promise<SecretStore> {
  const store = await openPostgresStore({
    connection: socketConnection(cluster, cluster.runtimeRole, database),
    schema: 'check',
    pool: { maxConnections: 2 },
  });
  t.after(() => store.close());
  await store.unlock(key);
  return store;
}

interface Replica {
  readonly store: SecretStore;
  readonly shared: SharedPolicies;
  readonly engine: PolicyEngine;
  readonly sync: PolicySync;
}

async function openReplica(t: TestContext, database: string): Promise<Replica> {
  const store = await openStore(t, database);
  const shared = store.sharedPolicies;
  assert.ok(shared !== undefined);
  const engine = createPolicyEngine();
  // Every notification lost (ADR 0032: they only make reloads early): the check alone decides.
  const sync = createPolicySync({
    shared: { revision: () => shared.revision(), scan: () => shared.scan(), watch: () => () => undefined },
    engine,
    logger: silentLogger,
  });
  t.after(() => sync.close());
  await sync.load();
  return { store, shared, engine, sync };
}

/** Runs `fn` until the store reaches the server again (connections of a stopped server fail once). */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** What replica A decides for a request now: the check before the decision, then the engine. */
async function mayRead(replica: Replica, path: string): Promise<boolean> {
  await retrying(() => replica.sync.fresh());
  return replica.engine.check(WORKLOAD, path, ['read']).allowed;
}

const grant = (name: string, path: string) =>
  samplePolicy(name, { spiffeIdPattern: '^spiffe://example\\.org/app/web$', pathPattern: `^${path}$` });

const put = (store: SecretStore, path: string, value: string): Promise<number> =>
  store.updateSecret(path, putVersion(path, { value }, { maxVersions: 10 }));

async function value(store: SecretStore, path: string, version = 0): Promise<string | undefined> {
  const read = await retrying(() => store.getSecretVersion(path, version));
  return read?.version?.data['value'];
}

const counter = async (shared: SharedPolicies): Promise<string> =>
  (await retrying(() => shared.revision())).split('/')[0] ?? '';

interface GoBack {
  /** Takes the backup; returns how to put it back. */
  backup(database: string): Promise<() => Promise<void>>;
}

const GO_BACK: Record<string, GoBack> = {
  'a file-level copy of the cluster (as a failover to a standby that missed the last transactions)': {
    async backup() {
      const copy = await cluster.copyData();
      return () => cluster.restoreData(copy);
    },
  },
  'a pg_dump restored into the running server': {
    async backup(database) {
      const file = await cluster.dump(database);
      return () => cluster.restoreDump(database, file);
    },
  },
  'the old rows put back with SQL in the running server': {
    async backup(database) {
      const tables = ['revisions', 'policies', 'secrets', 'secret_versions'];
      const saved = new Map<string, Record<string, unknown>[]>();
      for (const table of tables) {
        saved.set(table, (await cluster.superuser(`SELECT * FROM spike.${table}`, [], database)).rows);
      }
      return async () => {
        // One transaction (one simple-protocol message): the restore is seen whole or not at all.
        const literal = (v: unknown): string =>
          Buffer.isBuffer(v) ? `'\\x${v.toString('hex')}'` : `'${String(v).replace(/'/g, "''")}'`;
        const statements = ['BEGIN', ...tables.map((table) => `DELETE FROM spike.${table}`)];
        for (const [table, rows] of saved) {
          for (const row of rows) {
            statements.push(
              `INSERT INTO spike.${table} (${Object.keys(row).join(', ')}) VALUES (${Object.values(row)
                .map(literal)
                .join(', ')})`,
            );
          }
        }
        statements.push('COMMIT');
        await cluster.superuser(statements.join(';\n'), [], database);
      };
    },
  },
};

describe('postgres: a database that goes back in time under running replicas', () => {
  for (const [how, goBack] of Object.entries(GO_BACK)) {
    it(`${how}: the next check loads the new policies, and no cached secret row of the lost history is served`, async (t) => {
      const database = await preparedDatabase(cluster);
      const writer = await openStore(t, database);
      await writer.putPolicy(grant('kept', 'apps/kept'));
      await put(writer, 'apps/s', 'old');
      const a = await openReplica(t, database);
      assert.equal(await mayRead(a, 'apps/kept'), true);

      const restore = await goBack.backup(database);

      // The history that will be lost: a grant A loads, a secret version A caches.
      await retrying(() => writer.putPolicy(grant('lost', 'apps/lost')));
      await put(writer, 'apps/s', 'lost');
      assert.equal(await mayRead(a, 'apps/lost'), true, 'A loaded the grant of the lost history');
      const loadedAt = await counter(a.shared);
      assert.equal(await value(a.store, 'apps/s'), 'lost');
      assert.equal(await value(a.store, 'apps/s', 2), 'lost');

      await restore();

      // Another history: another grant brings the counter to the number A loaded at, and another
      // write gives the secret the same version number (and its head the same revision).
      assert.notEqual(await counter(a.shared), loadedAt, 'the counter went back');
      await retrying(() => writer.putPolicy(grant('new', 'apps/new')));
      assert.equal(await counter(a.shared), loadedAt, 'the counter is at the number A loaded at again');
      assert.equal(await retrying(() => put(writer, 'apps/s', 'new')), 2);

      assert.equal(await mayRead(a, 'apps/lost'), false, 'the grant of the lost history is gone');
      assert.equal(await mayRead(a, 'apps/new'), true, 'the grant of the new history is in force');
      assert.equal(await mayRead(a, 'apps/kept'), true);
      assert.deepEqual(
        a.engine
          .all()
          .map((p) => p.name)
          .sort(),
        ['kept', 'new'],
      );
      assert.equal(await value(a.store, 'apps/s'), 'new');
      assert.equal(await value(a.store, 'apps/s', 2), 'new');
      assert.equal(await value(a.store, 'apps/s', 1), 'old');
    });
  }
});

describe('postgres: a restore to before a root-key rotation, then another rotation', () => {
  const finishRotation = async (store: SecretStore): Promise<void> => {
    const rotation = store.rotation;
    assert.ok(rotation !== undefined);
    for (;;) {
      while ((await rotation.resealBatch(50)) > 0);
      if (await rotation.finish(Date.now())) return;
    }
  };
  const openWith = async (t: TestContext, database: string, rootKey: Uint8Array): Promise<SecretStore> => {
    const store = await openPostgresStore({
      connection: socketConnection(cluster, cluster.runtimeRole, database),
      schema: 'check',
      pool: { maxConnections: 2 },
    });
    t.after(() => store.close());
    await store.unlock(rootKey);
    return store;
  };

  it('a replica holding the lost generation 2 key stops using it when generation 2 is another key', async (t) => {
    const first = generateRootKey();
    const database = await preparedDatabase(cluster);
    const writer = await openWith(t, database, first);
    const a = await openWith(t, database, first);
    await put(writer, 'apps/s', 'before');
    const restore = await GO_BACK['a pg_dump restored into the running server']?.backup(database);
    assert.ok(restore !== undefined);

    // The lost history: a rotation to generation 2 that replica A follows.
    await writer.rotation?.begin(generateRootKey(), Date.now());
    assert.equal(await a.rotation?.refresh(), true, 'A learnt of the rotation');
    await finishRotation(writer);
    assert.equal(await a.rotation?.refresh(), true, 'A learnt of its end');
    assert.deepEqual(a.rotation?.status().generation, 2);
    assert.equal(a.rotation?.status().rotating, undefined);
    await put(a, 'apps/s', 'lost');

    await restore();
    // The surviving history: the restored database is opened with the first key, and rotated to
    // generation 2 again, with another key.
    const survivor = await openWith(t, database, first);
    await survivor.rotation?.begin(generateRootKey(), Date.now());
    await finishRotation(survivor);

    // A's generation 2 is not the database's: it must not write rows nobody else can open.
    await assert.rejects(
      retrying(() => a.rotation?.refresh() ?? Promise.resolve(false)),
      WrongRootKeyError,
    );
    await assert.rejects(put(a, 'apps/from-a', 'x'), StoreLockedError);
    await assert.rejects(a.getSecretVersion('apps/s', 0), StoreLockedError);
    assert.equal(await survivor.getSecretVersion('apps/from-a', 0), undefined);
    assert.equal(await value(survivor, 'apps/s'), 'before');
  });
});
