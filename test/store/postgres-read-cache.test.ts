/**
 * The PostgreSQL backend's read cache (ADR 0046) with several stores on one database, as several
 * Nexus processes would have: a write committed through one store is seen by the next read
 * through another whose cache holds the old rows (also while every LISTEN connection is down);
 * reads are linearizable with writes under concurrency; rows changed with SQL behind the stores'
 * backs (tampered, or rewritten with the same bytes) are never served from the cache; every
 * secret write moves the token the cache checks; a server restart empties the cache.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import type { SecretMutation, SecretRecord, SecretStore } from '@spike-ts/core';
import { openPostgresStore, StoreIntegrityError, StoreUnavailableError } from '@spike-ts/store';
import {
  preparedDatabase,
  putVersion,
  READ_BATCH_SQL,
  softDelete,
  socketConnection,
} from '@spike-ts/store/testing';
import { clusterForFile } from './cluster-for-file.ts';

const cluster = clusterForFile();

const key = randomBytes(32);

interface Counted {
  readonly store: SecretStore;
  readonly hits: () => number;
  readonly misses: () => number;
}

async function openStore(t: TestContext, database: string, readCacheBytes?: number): Promise<Counted> {
  let hits = 0;
  let misses = 0;
  const store = await openPostgresStore({
    connection: socketConnection(cluster, cluster.runtimeRole, database),
    schema: 'check',
    pool: { maxConnections: 4 },
    ...(readCacheBytes === undefined ? {} : { readCacheBytes }),
    observer: {
      cacheRead: (hit) => {
        if (hit) hits += 1;
        else misses += 1;
      },
    },
  });
  t.after(() => store.close());
  await store.unlock(key);
  return { store, hits: () => hits, misses: () => misses };
}

/** A writer and a reader store on a fresh database. */
async function pair(t: TestContext): Promise<{ database: string; writer: SecretStore; reader: Counted }> {
  const database = await preparedDatabase(cluster);
  const writer = (await openStore(t, database)).store;
  const reader = await openStore(t, database);
  return { database, writer, reader };
}

const put = (store: SecretStore, path: string, value: string): Promise<number> =>
  store.updateSecret(path, putVersion(path, { value }, { maxVersions: 100 }));

async function value(store: SecretStore, path: string, version = 0): Promise<string | undefined> {
  const read = await store.getSecretVersion(path, version);
  return read?.version?.data['value'];
}

const sql = async (database: string, text: string, params: unknown[] = []) =>
  (await cluster.superuser(text, params, database)).rows;

describe('postgres read cache: coherence across stores on one database', () => {
  it('a write through one store is read through another at once, although its cache held the old rows', async (t) => {
    const { writer, reader } = await pair(t);
    await put(writer, 'app/db', 'one');
    assert.equal(await value(reader.store, 'app/db'), 'one');
    assert.equal(await value(reader.store, 'app/db'), 'one');
    assert.equal(reader.hits(), 1, 'the second read is answered from the cache');
    const values = ['one', 'two', 'three', 'four'];
    for (const next of values.slice(1)) {
      const misses = reader.misses();
      const version = await put(writer, 'app/db', next);
      assert.equal(await value(reader.store, 'app/db'), next);
      assert.equal(reader.misses(), misses + 1, 'the changed rows were sent');
      assert.equal(await value(reader.store, 'app/db', version), next);
      assert.equal(await value(reader.store, 'app/db', version - 1), values[version - 2]);
    }
    // Older versions asked for by number, then the current one, all from cached rows now.
    assert.equal(await value(reader.store, 'app/db', 1), 'one');
    const hits = reader.hits();
    assert.equal(await value(reader.store, 'app/db', 1), 'one');
    assert.equal(await value(reader.store, 'app/db'), 'four');
    assert.equal(reader.hits(), hits + 2);

    // A soft delete elsewhere changes what the reader says about the current version.
    await writer.updateSecret('app/db', softDelete(4, Date.UTC(2025, 1, 1)));
    const read = await reader.store.getSecretVersion('app/db', 0);
    assert.equal(read?.metadata.currentVersion, 3);
    assert.equal(read?.version?.data['value'], 'three');
    const deleted = await reader.store.getSecretVersion('app/db', 4);
    assert.equal(deleted?.version?.deletedTime, Date.UTC(2025, 1, 1));
  });

  it('versions rewritten together in one transaction, and pruned ones, are seen by the other store', async (t) => {
    const { writer, reader } = await pair(t);
    for (const v of ['a', 'b', 'c']) await put(writer, 'multi', v);
    for (const n of [1, 2, 3]) assert.ok((await value(reader.store, 'multi', n)) !== undefined);
    // One transaction rewrites versions 1 and 2 (their rows get the same transaction id).
    const when = Date.UTC(2025, 2, 1);
    await writer.updateSecret('multi', (current: SecretRecord | undefined): SecretMutation<void> => {
      assert.ok(current !== undefined);
      return {
        next: {
          ...current,
          versions: current.versions.map((v) => (v.version < 3 ? { ...v, deletedTime: when } : v)),
        },
        result: undefined,
      };
    });
    for (const n of [1, 2]) {
      assert.equal((await reader.store.getSecretVersion('multi', n))?.version?.deletedTime, when);
    }
    assert.equal((await reader.store.getSecretVersion('multi', 3))?.version?.deletedTime, null);
    // Keep 2 versions: version 1 and 2 are pruned by the next put.
    await writer.updateSecret('multi', (current) =>
      putVersion('multi', { value: 'd' })(
        current && { ...current, metadata: { ...current.metadata, maxVersions: 2 } },
      ),
    );
    assert.equal(await value(reader.store, 'multi', 1), undefined);
    assert.equal(await value(reader.store, 'multi'), 'd');
    assert.equal(await value(reader.store, 'multi', 3), 'c');
  });

  it('with every LISTEN connection killed, a write is read through the other store at the next read', async (t) => {
    const { database, writer, reader } = await pair(t);
    const stop = reader.store.sharedPolicies?.watch(() => undefined);
    t.after(() => stop?.());
    await put(writer, 'listen/s', 'v1');
    assert.equal(await value(reader.store, 'listen/s'), 'v1');
    for (let round = 2; round <= 4; round++) {
      await sql(
        database,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'spike-nexus-listen' AND datname = current_database()",
      );
      await put(writer, 'listen/s', `v${String(round)}`);
      assert.equal(await value(reader.store, 'listen/s'), `v${String(round)}`);
    }
  });

  it('reads are linearizable with writes: a read asked for after another call returned sees at least what it saw', async (t) => {
    const database = await preparedDatabase(cluster);
    const writer = (await openStore(t, database)).store;
    const readers = [await openStore(t, database), await openStore(t, database)];
    const path = 'linear/counter';
    await put(writer, path, '0');
    for (const r of readers) await value(r.store, path);
    let clock = 0;
    interface Op {
      readonly start: number;
      end: number;
      seen: number;
      readonly write: boolean;
    }
    const ops: Op[] = [];
    let writing = true;
    const writes = (async () => {
      for (let i = 1; i <= 30; i++) {
        const op: Op = { start: ++clock, end: Infinity, seen: i, write: true };
        ops.push(op);
        await put(writer, path, String(i));
        op.end = ++clock;
      }
      writing = false;
    })();
    const reads = readers.flatMap((r) =>
      Array.from({ length: 8 }, async () => {
        while (writing) {
          const op: Op = { start: ++clock, end: Infinity, seen: -1, write: false };
          ops.push(op);
          op.seen = Number(await value(r.store, path));
          op.end = ++clock;
        }
      }),
    );
    await Promise.all([writes, ...reads]);
    const readOps = ops.filter((o) => !o.write);
    assert.ok(readOps.length > 30, 'reads ran alongside the writes');
    // A read that started after any operation (write or read) ended saw at least its value.
    for (const r of readOps) {
      for (const o of ops) {
        if (o.end < r.start)
          assert.ok(r.seen >= o.seen, `read saw ${String(r.seen)} after ${String(o.seen)}`);
      }
    }
    assert.ok(
      readers.every((r) => r.hits() > 0),
      'the cache answered some of the reads',
    );
  });

  it('many concurrent reads of one secret and of many all get the right value', async (t) => {
    const { writer, reader } = await pair(t);
    const paths = Array.from({ length: 20 }, (_, i) => `many/${String(i)}`);
    for (const p of paths) await put(writer, p, `value of ${p}`);
    const all = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const p = paths[i % 7 === 0 ? 0 : i % paths.length] ?? '';
        return value(reader.store, p).then((v) => [p, v]);
      }),
    );
    for (const [p, v] of all) assert.equal(v, `value of ${String(p)}`);
    assert.equal(await value(reader.store, 'many/missing'), undefined);
    assert.equal(await reader.store.getSecretVersion('many/missing', 3), undefined);
  });
});

describe('postgres read cache: rows changed behind the stores are never served from it', () => {
  /** The lookup id of the one secret in `database`. */
  const onlyId = async (database: string): Promise<Buffer> => {
    const rows = await sql(database, 'SELECT path_id FROM spike.secrets');
    assert.equal(rows.length, 1);
    return (rows[0] as { path_id: Buffer }).path_id;
  };
  const flip = (table: 'secrets' | 'secret_versions', where: string) =>
    `UPDATE spike.${table} SET envelope = overlay(envelope placing
       set_byte(substring(envelope from 20 for 1), 0, get_byte(envelope, 19) # 64) from 20 for 1)
     WHERE ${where}`;

  it('an edited version row, an edited head, a row moved to another version: refused although cached', async (t) => {
    const { database, writer, reader } = await pair(t);
    for (const v of ['one', 'two', 'three']) await put(writer, 'tamper/s', v);
    for (const n of [0, 1, 2, 3]) await reader.store.getSecretVersion('tamper/s', n);
    const id = await onlyId(database);
    const hits = reader.hits();
    assert.equal(await value(reader.store, 'tamper/s'), 'three');
    assert.equal(reader.hits(), hits + 1, 'served from the cache before the edit');

    // One byte of the current version's row.
    const original = (
      await sql(database, 'SELECT envelope FROM spike.secret_versions WHERE path_id = $1 AND version = 3', [
        id,
      ])
    )[0] as { envelope: Buffer };
    await sql(database, flip('secret_versions', 'path_id = $1 AND version = 3'), [id]);
    await assert.rejects(reader.store.getSecretVersion('tamper/s', 0), StoreIntegrityError);
    await assert.rejects(reader.store.getSecretVersion('tamper/s', 3), StoreIntegrityError);
    assert.equal(await value(reader.store, 'tamper/s', 2), 'two', 'the other versions still serve');
    // Put back byte for byte: served again (read anew).
    await sql(database, 'UPDATE spike.secret_versions SET envelope = $2 WHERE path_id = $1 AND version = 3', [
      id,
      original.envelope,
    ]);
    assert.equal(await value(reader.store, 'tamper/s'), 'three');

    // Version 1's row in the place of version 2's.
    await sql(
      database,
      `UPDATE spike.secret_versions SET envelope = (SELECT envelope FROM spike.secret_versions
         WHERE path_id = $1 AND version = 1) WHERE path_id = $1 AND version = 2`,
      [id],
    );
    await assert.rejects(reader.store.getSecretVersion('tamper/s', 2), StoreIntegrityError);

    // One byte of the head: no version of the secret is served.
    await sql(database, flip('secrets', 'path_id = $1'), [id]);
    for (const n of [0, 1, 3])
      await assert.rejects(reader.store.getSecretVersion('tamper/s', n), StoreIntegrityError);
  });

  it('rows rewritten with the same bytes, or a revision moved by hand, are read anew and still served', async (t) => {
    const { database, writer, reader } = await pair(t);
    await put(writer, 'same/s', 'x');
    assert.equal(await value(reader.store, 'same/s'), 'x');
    for (const change of [
      'UPDATE spike.secret_versions SET envelope = envelope',
      'UPDATE spike.secrets SET envelope = envelope',
      'UPDATE spike.secrets SET revision = revision + 7',
    ]) {
      await sql(database, change);
      const misses = reader.misses();
      assert.equal(await value(reader.store, 'same/s'), 'x');
      assert.equal(reader.misses(), misses + 1, change);
    }
  });

  it('a head deleted behind the store: version rows without it are an error, with neither the secret is gone', async (t) => {
    const { database, writer, reader } = await pair(t);
    await put(writer, 'gone/s', 'x');
    assert.equal(await value(reader.store, 'gone/s'), 'x');
    await sql(database, 'DELETE FROM spike.secrets');
    await assert.rejects(reader.store.getSecretVersion('gone/s', 0), StoreIntegrityError);
    await sql(database, 'DELETE FROM spike.secret_versions');
    assert.equal(await reader.store.getSecretVersion('gone/s', 0), undefined);
  });

  it('a cached version row is sent again when its head changed, even with its own token unchanged', async (t) => {
    // The statement itself, with the tokens a cache would send: the version row's token is only
    // its 32-bit xmin, so it is trusted only together with an unchanged head (ADR 0049).
    const { database, writer } = await pair(t);
    await put(writer, 'tok/s', 'a');
    const row = (
      await sql(
        database,
        `SELECT s.path_id, s.xmin::text || '/' || s.revision::text AS hv, v.xmin::text AS vx
           FROM spike.secrets s JOIN spike.secret_versions v USING (path_id) WHERE v.version = 1`,
      )
    )[0] as { path_id: Buffer; hv: string; vx: string };
    const batch = async (hv: string) =>
      (await sql(database, READ_BATCH_SQL, [[row.path_id], [1], [1], [hv], [1], [row.vx], false])).filter(
        (r) => (r as { ord: number }).ord === 1,
      ) as { head: unknown; envelope: unknown }[];
    const same = await batch(row.hv);
    assert.equal(same.length, 1);
    assert.equal(same[0]?.head, null, 'unchanged head: not sent');
    assert.equal(same[0]?.envelope, null, 'unchanged head and version row: not sent');
    const moved = await batch(`${row.vx}/999`);
    assert.ok(moved[0]?.head instanceof Uint8Array, 'another head: sent');
    assert.ok(moved[0]?.envelope instanceof Uint8Array, 'same version token under another head: sent');
  });

  it('every secret write moves the revision of its head row (the cache relies on it)', async (t) => {
    const { database, writer } = await pair(t);
    const revision = async (): Promise<number> =>
      Number(
        ((await sql(database, 'SELECT revision FROM spike.secrets'))[0] as { revision: string }).revision,
      );
    await put(writer, 'rev/s', 'a');
    let last = await revision();
    const steps: ((s: SecretRecord | undefined) => SecretMutation<unknown>)[] = [
      putVersion('rev/s', { value: 'b' }),
      softDelete(1, Date.UTC(2025, 3, 1)),
      putVersion('rev/s', { value: 'c' }),
    ];
    for (const step of steps) {
      await writer.updateSecret('rev/s', step);
      const now = await revision();
      assert.ok(now > last, `revision ${String(now)} after ${String(last)}`);
      last = now;
    }
  });
});

describe('postgres read cache: server restarts and budgets', () => {
  it('after a server restart the cached rows are read anew (transaction ids of another server run)', async (t) => {
    const { writer, reader } = await pair(t);
    await put(writer, 'restart/s', 'x');
    assert.equal(await value(reader.store, 'restart/s'), 'x');
    assert.equal(await value(reader.store, 'restart/s'), 'x');
    await cluster.restart();
    const hitsBefore = reader.hits();
    const missesBefore = reader.misses();
    // Connections of the old server fail once; the pool opens new ones.
    let seen: string | undefined;
    for (let i = 0; i < 20 && seen === undefined; i++) {
      try {
        seen = await value(reader.store, 'restart/s');
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(seen, 'x');
    assert.equal(reader.hits(), hitsBefore, 'nothing served from rows cached on the old server');
    assert.equal(reader.misses(), missesBefore + 1);
    const misses = reader.misses();
    const hits = reader.hits();
    assert.equal(await value(reader.store, 'restart/s'), 'x');
    assert.equal(reader.hits(), hits + 1, 'cached again after the first read on the new server');
    assert.equal(reader.misses(), misses);
  });

  it('a budget of 0 keeps nothing: every read is sent its rows, and is right', async (t) => {
    const database = await preparedDatabase(cluster);
    const writer = (await openStore(t, database)).store;
    const reader = await openStore(t, database, 0);
    await put(writer, 'nobudget/s', 'a');
    for (let i = 0; i < 3; i++) assert.equal(await value(reader.store, 'nobudget/s'), 'a');
    await put(writer, 'nobudget/s', 'b');
    assert.equal(await value(reader.store, 'nobudget/s'), 'b');
    assert.equal(reader.hits(), 0);
    assert.equal(reader.misses(), 4);
  });

  it('refuses a negative or fractional budget', async () => {
    const database = await preparedDatabase(cluster);
    for (const readCacheBytes of [-1, 1.5]) {
      await assert.rejects(
        openPostgresStore({
          connection: socketConnection(cluster, cluster.runtimeRole, database),
          schema: 'check',
          readCacheBytes,
        }),
        RangeError,
      );
    }
  });
});
