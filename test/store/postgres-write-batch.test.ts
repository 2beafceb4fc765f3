/**
 * Group commit on PostgreSQL (ADR 0045), against a real server: concurrent updates of one store
 * share a transaction; one secret's updates keep call order inside and across batches; a
 * mutator that throws, a record the store refuses and a secret with damaged rows fail only their
 * own callers; a batch the database refuses for one write's data is retried write by write, so
 * only that write fails and nothing is written twice; a lost COMMIT answer makes every caller
 * that depended on the batch an unknown outcome (never a 503, never a success) while callers
 * that changed nothing keep their answer; batches of several stores over the same secrets, in
 * opposite orders, never deadlock and never lose or reuse a version number.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { randomBytes, type SecretRecord, type SecretStore } from '@spike-ts/core';
import {
  InvalidRecordError,
  openPostgresStore,
  StoreIntegrityError,
  StoreOutcomeUnknownError,
  StoreUnavailableError,
  type PostgresConnection,
} from '@spike-ts/store';
import { preparedDatabase, putVersion, socketConnection } from '@spike-ts/store/testing';
import { startCommitFaultProxy } from './pg-commit-fault-proxy.ts';
import { clusterForFile } from './cluster-for-file.ts';

const cluster = clusterForFile();

const key = randomBytes(32);

async function store(
  t: TestContext,
  database: string,
  opts: { extra?: Partial<PostgresConnection>; batches?: number[] } = {},
): Promise<SecretStore> {
  const batches = opts.batches;
  const s = await openPostgresStore({
    connection: { ...socketConnection(cluster, cluster.runtimeRole, database), ...opts.extra },
    schema: 'check',
    pool: { maxConnections: 4 },
    ...(batches === undefined ? {} : { observer: { batchCommitted: (n: number) => batches.push(n) } }),
  });
  t.after(() => s.close());
  await s.unlock(key);
  return s;
}

const raw = async (database: string, sql: string, params: unknown[] = []) =>
  (await cluster.superuser(sql, params, database)).rows;

/** A mutator that fails with `message`. */
const failing = (message: string) => (): never => {
  throw new Error(message);
};

/** A mutator that changes nothing and answers what it saw. */
const look = (current: SecretRecord | undefined) => ({
  next: undefined,
  result: current?.versions.at(-1)?.data['v'] ?? 'none',
});

/** The settled outcomes of `calls`, as `ok:<value>` or the error itself. */
async function outcomes(calls: Promise<unknown>[]): Promise<unknown[]> {
  return (await Promise.allSettled(calls)).map((o): unknown =>
    o.status === 'fulfilled' ? `ok:${String(o.value)}` : (o.reason as unknown),
  );
}

describe('postgres store: group commit', () => {
  it('concurrent updates share transactions; every one is committed once', async (t) => {
    const database = await preparedDatabase(cluster);
    const batches: number[] = [];
    const s = await store(t, database, { batches });
    const n = 40;
    const written = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const path = `many/${String(i)}`;
        return s.updateSecret(path, putVersion(path, { v: String(i) }));
      }),
    );
    assert.deepEqual(
      written,
      Array.from({ length: n }, () => 1),
    );
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      n,
    );
    assert.ok(
      batches.length < n,
      `${String(n)} writes in one turn took ${String(batches.length)} transactions`,
    );
    const rows = await raw(database, 'SELECT count(*)::int AS c FROM spike.secret_versions');
    assert.equal(rows[0]?.['c'], n);
    for (let i = 0; i < n; i += 7) {
      assert.equal((await s.getSecret(`many/${String(i)}`))?.versions[0]?.data['v'], String(i));
    }
  });

  it("one secret's updates keep call order, within a batch and across batches", async (t) => {
    const database = await preparedDatabase(cluster);
    const batches: number[] = [];
    const s = await store(t, database, { batches });
    const calls: Promise<number>[] = [];
    for (let i = 0; i < 30; i++) {
      calls.push(s.updateSecret('ordered', putVersion('ordered', { v: String(i) }, { maxVersions: 100 })));
      // A second secret interleaved, and a pause now and then so that later calls meet a
      // running batch that holds the secret.
      calls.push(s.updateSecret('other', putVersion('other', { v: String(i) }, { maxVersions: 100 })));
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(calls);
    assert.deepEqual(
      results.filter((_, k) => k % 2 === 0),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    const rec = await s.getSecret('ordered');
    assert.deepEqual(
      rec?.versions.map((v) => v.data['v']),
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
    assert.ok(Math.max(...batches) > 2, `batches: ${batches.join(',')}`);
  });

  it('a mutator that throws, a refused record and a damaged secret fail only their own callers', async (t) => {
    const database = await preparedDatabase(cluster);
    const s = await store(t, database);
    // The head of `bad`, the only secret so far, no longer opens.
    await s.updateSecret('bad', putVersion('bad', { v: '1' }));
    await raw(
      database,
      `UPDATE spike.secrets SET envelope = overlay(envelope placing '\\xff'::bytea from 30 for 1)`,
    );
    await assert.rejects(s.getSecret('bad'), StoreIntegrityError);
    const [g1, g2, bad] = ['a', 'b', 'bad'];
    for (const path of [g1, g2]) await s.updateSecret(path, putVersion(path, { v: '1' }));

    const got = await outcomes([
      s.updateSecret(g1, putVersion(g1, { v: '2' })),
      s.updateSecret(g1, failing('refused after a change')), // depends on the change before it
      s.updateSecret(g2, failing('refused at once')),
      s.updateSecret(g2, putVersion(g2, { v: '2' })),
      s.updateSecret('new', putVersion('not-new', { v: '1' })), // a record for another path
      s.updateSecret(bad, putVersion(bad, { v: '2' })),
      s.updateSecret('fresh', putVersion('fresh', { v: '1' })),
    ]);
    assert.equal(got[0], 'ok:2');
    assert.match(String(got[1]), /refused after a change/);
    assert.match(String(got[2]), /refused at once/);
    assert.equal(got[3], 'ok:2');
    assert.ok(got[4] instanceof InvalidRecordError, String(got[4]));
    assert.ok(got[5] instanceof StoreIntegrityError, String(got[5]));
    assert.equal(got[6], 'ok:1');
    assert.equal((await s.getSecret(g1))?.versions.length, 2);
    assert.equal((await s.getSecret(g2))?.versions.length, 2);
    assert.equal(await s.getSecret('new'), undefined);
    assert.equal((await s.getSecret('fresh'))?.versions.length, 1);
  });

  it('a batch the database refuses for one write is retried write by write: only that one fails', async (t) => {
    const database = await preparedDatabase(cluster);
    const batches: number[] = [];
    const s = await store(t, database, { batches });
    await s.updateSecret('before', putVersion('before', { v: '1' }));
    // The database refuses version rows above 3,000 bytes (a constraint the runtime role did not set).
    await raw(
      database,
      'ALTER TABLE spike.secret_versions ADD CONSTRAINT test_small CHECK (octet_length(envelope) < 3000)',
    );
    batches.length = 0;
    const paths = ['r0', 'r1', 'r2', 'r3', 'r4'];
    const got = await outcomes([
      ...paths.slice(0, 2).map((p) => s.updateSecret(p, putVersion(p, { v: 'small' }))),
      s.updateSecret('big', putVersion('big', { v: 'x'.repeat(4000) })),
      s.updateSecret('before', putVersion('before', { v: '2' })),
      s.updateSecret('before', look), // depends on the write before it
      ...paths.slice(2).map((p) => s.updateSecret(p, putVersion(p, { v: 'small' }))),
    ]);
    assert.deepEqual(got.slice(0, 2), ['ok:1', 'ok:1']);
    const refused = got[2];
    assert.ok(refused instanceof pg.DatabaseError, String(refused));
    assert.equal(refused.code, '23514');
    assert.deepEqual(got.slice(3), ['ok:2', 'ok:2', 'ok:1', 'ok:1', 'ok:1']);
    // Each retried write committed once, alone (the look changed nothing: no commit to count);
    // the refused one wrote nothing.
    assert.deepEqual(batches, [1, 1, 1, 1, 1, 1]);
    assert.equal(await s.getSecret('big'), undefined);
    for (const p of paths) assert.equal((await s.getSecret(p))?.versions.length, 1);
    assert.equal((await s.getSecret('before'))?.versions.length, 2);
    await raw(database, 'ALTER TABLE spike.secret_versions DROP CONSTRAINT test_small');
  });

  it('a lost COMMIT answer: every caller that depended on the batch is an unknown outcome, and it committed', async (t) => {
    const database = await preparedDatabase(cluster);
    const proxy = await startCommitFaultProxy(join(cluster.socketDir, `.s.PGSQL.${String(cluster.port)}`));
    t.after(() => proxy.close());
    const s = await store(t, database, {
      extra: { host: '127.0.0.1', port: proxy.port, sslMode: 'disable' },
    });
    for (const p of ['a', 'seen']) await s.updateSecret(p, putVersion(p, { v: '1' }));

    const lost = proxy.loseNextCommitAnswer();
    const got = await outcomes([
      s.updateSecret('a', putVersion('a', { v: '2' })),
      s.updateSecret('a', look), // read what the batch wrote: depends on it
      s.updateSecret('b', putVersion('b', { v: '1' })),
      s.updateSecret('seen', look), // changes nothing, depends on nothing
      s.updateSecret('c', failing('refused at once')),
      s.updateSecret('d', putVersion('d', { v: '1' })),
    ]);
    await lost;
    for (const i of [0, 1, 2, 5]) {
      const err = got[i];
      assert.ok(err instanceof StoreOutcomeUnknownError, `call ${String(i)}: ${String(err)}`);
      assert.equal(err instanceof StoreUnavailableError, false);
      assert.equal(err.status, 500);
      assert.equal(err.code, 'api_outcome_unknown');
    }
    assert.equal(got[3], 'ok:1');
    assert.match(String(got[4]), /refused at once/);
    // The batch did commit, each change once.
    assert.equal((await s.getSecret('a'))?.versions.at(-1)?.data['v'], '2');
    assert.equal((await s.getSecret('a'))?.versions.length, 2);
    assert.equal((await s.getSecret('b'))?.versions.length, 1);
    assert.equal((await s.getSecret('d'))?.versions.length, 1);
    // And the store goes on (the broken connection was dropped).
    assert.equal(await s.updateSecret('a', putVersion('a', { v: '3' })), 3);
  });

  it('batches of several stores over the same secrets, in opposite orders, never deadlock or reuse a number', async (t) => {
    const database = await preparedDatabase(cluster);
    const stores = [await store(t, database), await store(t, database), await store(t, database)];
    const paths = Array.from({ length: 12 }, (_, i) => `shared/${String(i)}`);
    const rounds = 6;
    await Promise.all(
      stores.map(async (s, k) => {
        // Store 0 goes forward, store 1 backward, store 2 from the middle.
        const order =
          k === 0 ? paths : k === 1 ? [...paths].reverse() : [...paths.slice(6), ...paths.slice(0, 6)];
        for (let r = 0; r < rounds; r++) {
          await Promise.all(
            order.map((p) =>
              s.updateSecret(p, putVersion(p, { by: `${String(k)}-${String(r)}` }, { maxVersions: 1000 })),
            ),
          );
        }
      }),
    );
    for (const p of paths) {
      const rec = await stores[0]?.getSecret(p);
      assert.deepEqual(
        rec?.versions.map((v) => v.version),
        Array.from({ length: stores.length * rounds }, (_, i) => i + 1),
      );
      const writers = new Set(rec?.versions.map((v) => v.data['by']));
      assert.equal(writers.size, stores.length * rounds, p);
    }
  });
});
