/**
 * Store contract, secrets part (see `contract.ts`).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test tracks the promises describe/it return */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import type { SecretRecord, SecretStore } from '@spike-ts/core';
import { attempt, plain, putVersion, softDelete, T0, withVersions } from './contract-fixture.ts';
import { InvalidRecordError } from './store-error.ts';

export function secretContract(open: (t: TestContext) => Promise<SecretStore>): void {
  describe('secrets', () => {
    it('creates a secret through updateSecret and reads it back exactly', async (t) => {
      const store = await open(t);
      const result = await store.updateSecret(
        'apps/db/creds',
        putVersion('apps/db/creds', { user: 'u', pass: 'p' }),
      );
      assert.equal(result, 1);
      assert.deepEqual(plain(await store.getSecret('apps/db/creds')), {
        path: 'apps/db/creds',
        versions: [{ version: 1, data: { user: 'u', pass: 'p' }, createdTime: T0, deletedTime: null }],
        metadata: {
          currentVersion: 1,
          oldestVersion: 1,
          createdTime: T0,
          updatedTime: T0,
          maxVersions: 10,
        },
      });
    });

    it('hands the mutator the current record, keeps versions ascending and prunes the oldest', async (t) => {
      const store = await open(t);
      const seen: (number | undefined)[] = [];
      for (let i = 1; i <= 5; i++) {
        const write = putVersion('s', { n: String(i) }, { maxVersions: 3, now: T0 + i });
        await store.updateSecret('s', (current) => {
          seen.push(current?.metadata.currentVersion);
          return write(current);
        });
      }
      assert.deepEqual(seen, [undefined, 1, 2, 3, 4]);
      const rec = await store.getSecret('s');
      assert.deepEqual(
        rec?.versions.map((v) => [v.version, v.data['n'], v.createdTime]),
        [
          [3, '3', T0 + 3],
          [4, '4', T0 + 4],
          [5, '5', T0 + 5],
        ],
      );
      assert.deepEqual(plain(rec?.metadata), {
        currentVersion: 5,
        oldestVersion: 3,
        createdTime: T0 + 1,
        updatedTime: T0 + 5,
        maxVersions: 3,
      });
    });

    it('reads one version with the metadata: current, numbered, deleted, pruned, missing', async (t) => {
      const store = await open(t);
      for (let i = 1; i <= 4; i++) {
        await store.updateSecret(
          'one/v',
          putVersion('one/v', { n: String(i) }, { maxVersions: 3, now: T0 + i }),
        );
      }
      await store.updateSecret('one/v', softDelete(3, T0 + 9));
      const current = await store.getSecretVersion('one/v', 0);
      assert.deepEqual(plain(current), {
        path: 'one/v',
        metadata: {
          currentVersion: 4,
          oldestVersion: 2,
          createdTime: T0 + 1,
          updatedTime: T0 + 9,
          maxVersions: 3,
        },
        version: { version: 4, data: { n: '4' }, createdTime: T0 + 4, deletedTime: null },
      });
      assert.deepEqual(plain((await store.getSecretVersion('one/v', 2))?.version?.data), { n: '2' });
      // A soft-deleted version is still kept: it comes back with its deletion time.
      assert.equal((await store.getSecretVersion('one/v', 3))?.version?.deletedTime, T0 + 9);
      // Pruned (1) and never written (9): the secret is there, the version is not.
      for (const v of [1, 9]) {
        const read = await store.getSecretVersion('one/v', v);
        assert.equal(read?.metadata.currentVersion, 4);
        assert.equal(read?.version, undefined);
      }
      assert.equal(await store.getSecretVersion('no/such', 0), undefined);
      assert.equal(await store.getSecretVersion('no/such', 1), undefined);
    });

    it('reads no current version once every version is deleted', async (t) => {
      const store = await open(t);
      await store.updateSecret('gone', putVersion('gone', { a: '1' }));
      await store.updateSecret('gone', softDelete(1, T0 + 1));
      const read = await store.getSecretVersion('gone', 0);
      assert.equal(read?.metadata.currentVersion, 0);
      assert.equal(read?.version, undefined);
      assert.equal((await store.getSecretVersion('gone', 1))?.version?.deletedTime, T0 + 1);
    });

    it('one-version reads follow every write at once', async (t) => {
      const store = await open(t);
      for (let i = 1; i <= 12; i++) {
        await store.updateSecret('hot', putVersion('hot', { n: String(i) }, { maxVersions: 3 }));
        assert.deepEqual(plain((await store.getSecretVersion('hot', 0))?.version?.data), { n: String(i) });
        if (i > 3) assert.equal((await store.getSecretVersion('hot', i - 3))?.version, undefined);
      }
      await store.updateSecret('hot', softDelete(12, T0 + 1));
      assert.equal((await store.getSecretVersion('hot', 0))?.version?.version, 11);
      await store.updateSecret('hot', () => ({ next: undefined, result: 0 }));
      assert.equal((await store.getSecretVersion('hot', 0))?.version?.version, 11);
    });

    it('rejects invalid version numbers and paths in one-version reads', async (t) => {
      const store = await open(t);
      await store.updateSecret('p', putVersion('p', { a: '1' }));
      for (const v of [-1, 1.5, Number.NaN, 2 ** 60, '1' as unknown as number]) {
        await assert.rejects(store.getSecretVersion('p', v), InvalidRecordError, String(v));
      }
      await assert.rejects(store.getSecretVersion('', 0), InvalidRecordError);
    });

    it('stores changes to existing versions (soft delete)', async (t) => {
      const store = await open(t);
      await store.updateSecret('d', putVersion('d', { a: '1' }));
      await store.updateSecret('d', putVersion('d', { a: '2' }));
      assert.equal(await store.updateSecret('d', softDelete(2, T0 + 50)), true);
      const rec = await store.getSecret('d');
      assert.deepEqual(
        rec?.versions.map((v) => v.deletedTime),
        [null, T0 + 50],
      );
      assert.equal(rec?.metadata.currentVersion, 1);
      assert.equal(rec?.versions[1]?.data['a'], '2');
    });

    it('leaves storage unchanged when the mutator returns next: undefined', async (t) => {
      const store = await open(t);
      assert.equal(await store.updateSecret('none', () => ({ next: undefined, result: 'kept' })), 'kept');
      assert.equal(await store.getSecret('none'), undefined);
      assert.deepEqual(await store.listSecretPaths(), []);
      await store.updateSecret('x', putVersion('x', { a: '1' }));
      const before = plain(await store.getSecret('x'));
      await store.updateSecret('x', () => ({ next: undefined, result: 0 }));
      assert.deepEqual(plain(await store.getSecret('x')), before);
    });

    it('a throwing mutator rejects only its caller and writes nothing', async (t) => {
      const store = await open(t);
      await store.updateSecret('b', putVersion('b', { v: 'before' }));
      const boom = new Error('mutator failed');
      const results = await Promise.allSettled([
        store.updateSecret('a', putVersion('a', { v: '1' })),
        store.updateSecret('b', () => {
          throw boom;
        }),
        store.updateSecret('c', () => {
          throw boom;
        }),
        store.updateSecret('b', putVersion('b', { v: 'after' })),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
      );
      assert.equal((results[1] as PromiseRejectedResult).reason, boom);
      assert.deepEqual(await store.listSecretPaths(), ['a', 'b']);
      assert.deepEqual(
        (await store.getSecret('b'))?.versions.map((v) => v.data['v']),
        ['before', 'after'],
      );
    });

    it('applies every concurrent update of one path (no lost update)', async (t) => {
      const store = await open(t);
      const n = 50;
      const results = await Promise.all(
        Array.from({ length: n }, () =>
          store.updateSecret('counter', (current) => {
            const count = Number(current?.versions.at(-1)?.data['count'] ?? '0') + 1;
            return putVersion('counter', { count: String(count) }, { maxVersions: 5 })(current);
          }),
        ),
      );
      assert.deepEqual(
        [...results].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i + 1),
      );
      const rec = await store.getSecret('counter');
      assert.equal(rec?.versions.at(-1)?.data['count'], String(n));
      assert.deepEqual(
        rec?.versions.map((v) => v.version),
        [46, 47, 48, 49, 50],
      );
    });

    it('applies concurrent updates of many paths', async (t) => {
      const store = await open(t);
      const paths = Array.from({ length: 40 }, (_, i) => `many/${String(i).padStart(2, '0')}`);
      await Promise.all(paths.map((p) => store.updateSecret(p, putVersion(p, { p }))));
      assert.deepEqual(await store.listSecretPaths(), paths);
      for (const p of paths) assert.equal((await store.getSecret(p))?.versions[0]?.data['p'], p);
    });

    it('lists paths sorted ascending', async (t) => {
      const store = await open(t);
      const paths = ['b', 'a/b', 'A', 'a', 'a-b', '10', '9', 'z/ü', 'a/a'];
      for (const p of paths) await store.updateSecret(p, putVersion(p, { k: 'v' }));
      assert.deepEqual(await store.listSecretPaths(), ['10', '9', 'A', 'a', 'a-b', 'a/a', 'a/b', 'b', 'z/ü']);
    });

    it('round-trips data exactly: unicode, empty, special keys, large values', async (t) => {
      const store = await open(t);
      const data: Record<string, string> = {
        empty: '',
        unicode: 'grüße 🔐 \u0000 "quoted" \\ back',
        lone: 'half \ud800 surrogate',
        constructor: 'c',
        'with space': 's',
        big: 'x'.repeat(256 * 1024),
      };
      Object.defineProperty(data, '__proto__', {
        value: 'proto',
        enumerable: true,
        writable: true,
        configurable: true,
      });
      await store.updateSecret('data', putVersion('data', data));
      await store.updateSecret('empty', putVersion('empty', {}));
      const got = (await store.getSecret('data'))?.versions[0]?.data;
      assert.ok(got);
      assert.deepEqual(Object.keys(got).sort(), Object.keys(data).sort());
      for (const key of Object.keys(data)) assert.equal(got[key], data[key], key);
      assert.ok(Object.hasOwn(got, '__proto__'));
      assert.equal(Object.getPrototypeOf(got), Object.prototype);
      assert.deepEqual({ ...(await store.getSecret('empty'))?.versions[0]?.data }, {});
    });

    it('rejects malformed paths and records, writing nothing', async (t) => {
      const store = await open(t);
      const bad: [string, (c: SecretRecord | undefined) => { next: SecretRecord; result: null }][] = [
        [
          'other',
          (c) => ({ next: { ...putVersion('other', {})(c).next!, path: 'elsewhere' }, result: null }),
        ],
        ['zero', (c) => ({ next: withVersions(putVersion('zero', {})(c).next!, [0]), result: null })],
        ['order', (c) => ({ next: withVersions(putVersion('order', {})(c).next!, [2, 1]), result: null })],
        ['dupe', (c) => ({ next: withVersions(putVersion('dupe', {})(c).next!, [1, 1]), result: null })],
        [
          'value',
          (c) => ({ next: putVersion('value', { n: 1 as unknown as string })(c).next!, result: null }),
        ],
        ['time', (c) => ({ next: putVersion('time', {}, { now: Number.NaN })(c).next!, result: null })],
      ];
      for (const [path, mutate] of bad) {
        await assert.rejects(store.updateSecret(path, mutate), InvalidRecordError, path);
      }
      for (const path of ['', 'lone \udc00', 'x'.repeat(5000)]) {
        await assert.rejects(store.updateSecret(path, putVersion(path, {})), InvalidRecordError);
        await assert.rejects(store.getSecret(path), InvalidRecordError);
      }
      assert.deepEqual(await store.listSecretPaths(), []);
    });

    it('does not let callers change stored state through references', async (t) => {
      const store = await open(t);
      const data = { a: '1' };
      const mutate = putVersion('m', data);
      let produced: SecretRecord | undefined;
      await store.updateSecret('m', (current) => {
        const out = mutate(current);
        produced = out.next;
        return out;
      });
      data.a = 'changed input';
      (produced!.versions as unknown as unknown[]).length = 0;
      const first = await store.getSecret('m');
      attempt(() => ((first!.versions[0]!.data as Record<string, string>)['a'] = 'changed output'));
      attempt(() => (first!.versions as unknown as unknown[]).push({}));
      attempt(() => ((first!.metadata as { currentVersion: number }).currentVersion = 99));
      await store.updateSecret('m', (current) => {
        attempt(() => ((current!.versions[0]!.data as Record<string, string>)['a'] = 'changed in mutator'));
        return { next: undefined, result: null };
      });
      const again = await store.getSecret('m');
      assert.equal(again?.versions.length, 1);
      assert.equal(again?.versions[0]?.data['a'], '1');
      assert.equal(again?.metadata.currentVersion, 1);
    });
  });
}
