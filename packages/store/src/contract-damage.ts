/**
 * The store contract for damaged version rows, on backends whose rows a test can reach behind the
 * store's back (`VersionRowTamper`: SQLite through the file, PostgreSQL through the database). A
 * version row edited, put back to an older copy of itself or deleted is listed by
 * `listDamagedRows` with its secret's path, a read of it fails while the others work, and removing
 * it takes the version out of its secret, which then reads and writes normally.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test tracks the promises describe/it return */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import type { DamagedRow, SecretStore } from '@spike-ts/core';
import { putVersion, softDelete, T0 } from './contract-fixture.ts';
import { VERSION_SCAN_PAGE } from './damage-scan.ts';
import { InvalidRecordError, StoreIntegrityError } from './store-error.ts';

/** Raw access to the version rows of a backend's storage (places as 64 hex digits). */
export interface VersionRowTamper {
  /** Every version row's place and version. */
  versionRows(): Promise<{ id: string; version: number }[]>;
  readVersion(id: string, version: number): Promise<Uint8Array | undefined>;
  /** Inserts or replaces the row's envelope. */
  writeVersion(id: string, version: number, envelope: Uint8Array): Promise<void>;
  deleteVersion(id: string, version: number): Promise<void>;
}

export type TamperableStore = (t: TestContext) => Promise<{ store: SecretStore; tamper?: VersionRowTamper }>;

/** The place of the secret that has `count` version rows (each test secret has its own count). */
async function placeWithVersions(tamper: VersionRowTamper, count: number): Promise<string> {
  const counts = new Map<string, number>();
  for (const r of await tamper.versionRows()) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  const found = [...counts].filter(([, n]) => n === count).map(([id]) => id);
  assert.equal(found.length, 1, `one secret with ${String(count)} versions`);
  return found[0]!;
}

const byPlace = (a: DamagedRow, b: DamagedRow): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : (a.version ?? 0) - (b.version ?? 0);

export function versionDamageContract(open: TamperableStore): void {
  describe('damaged version rows', () => {
    it('lists an edited, a stale and a missing version row; removing them leaves working secrets', async (t) => {
      const { store, tamper } = await open(t);
      assert.ok(tamper, 'the store factory gives no way to change rows behind the store');
      for (const v of ['1', '2', '3']) await store.updateSecret('v/three', putVersion('v/three', { v }));
      await store.updateSecret('v/one', putVersion('v/one', { v: '1' }));
      for (const v of ['1', '2']) await store.updateSecret('v/two', putVersion('v/two', { v }));
      await store.updateSecret('v/healthy', putVersion('v/healthy', { v: '1' }));
      for (const v of ['2', '3', '4']) await store.updateSecret('v/healthy', putVersion('v/healthy', { v }));
      const three = await placeWithVersions(tamper, 3);
      const one = await placeWithVersions(tamper, 1);
      const two = await placeWithVersions(tamper, 2);

      // Version 2 of v/three edited; version 1 of v/one put back to its copy from before a soft
      // delete (it opens, but its times are not the secret's); version 2 of v/two deleted.
      const edited = (await tamper.readVersion(three, 2))!;
      edited[edited.length - 1]! ^= 0x01;
      await tamper.writeVersion(three, 2, edited);
      const before = (await tamper.readVersion(one, 1))!;
      assert.equal(await store.updateSecret('v/one', softDelete(1, T0 + 5)), true);
      await tamper.writeVersion(one, 1, before);
      await tamper.deleteVersion(two, 2);

      const expected: DamagedRow[] = [
        { table: 'secret_versions', id: three, version: 2, kind: 'unreadable', name: 'v/three' },
        { table: 'secret_versions', id: one, version: 1, kind: 'stale', name: 'v/one' },
        { table: 'secret_versions', id: two, version: 2, kind: 'missing', name: 'v/two' },
      ];
      expected.sort(byPlace);
      assert.deepEqual([...(await store.listDamagedRows())].sort(byPlace), expected);
      // The strict listings and the secret scan see secrets only, and these are readable.
      assert.deepEqual((await store.scanSecretPaths()).damaged, []);

      // Found when read, as before; the other versions still read.
      await assert.rejects(store.getSecretVersion('v/three', 2), StoreIntegrityError);
      assert.deepEqual((await store.getSecretVersion('v/three', 1))?.version?.data, { v: '1' });
      await assert.rejects(store.getSecret('v/two'), StoreIntegrityError);

      // Removal names the version; a healthy version is never removed.
      await assert.rejects(store.removeDamagedRow('secret_versions', three), InvalidRecordError);
      await assert.rejects(store.removeDamagedRow('secret_versions', three, 0), InvalidRecordError);
      await assert.rejects(store.removeDamagedRow('secrets', three, 2), InvalidRecordError);
      assert.equal(await store.removeDamagedRow('secret_versions', three, 1), false);
      assert.equal(await store.removeDamagedRow('secret_versions', three, 9), false);
      assert.equal(await store.removeDamagedRow('secret_versions', three, 2), true);
      assert.equal(await store.removeDamagedRow('secret_versions', three, 2), false);
      assert.equal(await store.removeDamagedRow('secret_versions', one, 1), true);
      assert.equal(await store.removeDamagedRow('secret_versions', two, 2), true);
      assert.deepEqual(await store.listDamagedRows(), []);

      // v/three: version 2 is gone like a pruned one (a read of it finds no version, no error);
      // 3 stays current; the next write is 4.
      const gone = await store.getSecretVersion('v/three', 2);
      assert.equal(gone?.version, undefined);
      assert.equal(gone?.metadata.currentVersion, 3);
      assert.deepEqual(
        (await store.getSecret('v/three'))?.versions.map((v) => v.version),
        [1, 3],
      );
      assert.equal(await store.updateSecret('v/three', putVersion('v/three', { v: '4' })), 4);
      assert.deepEqual((await store.getSecretVersion('v/three', 0))?.version?.data, { v: '4' });
      // v/two lost its current version: the highest version left is current.
      const twoNow = await store.getSecret('v/two');
      assert.deepEqual(
        twoNow?.versions.map((v) => v.version),
        [1],
      );
      assert.equal(twoNow?.metadata.currentVersion, 1);
      // v/one has no version left, and is written again normally.
      const oneNow = await store.getSecret('v/one');
      assert.deepEqual(oneNow?.versions, []);
      assert.equal(oneNow?.metadata.currentVersion, 0);
      assert.equal(await store.updateSecret('v/one', putVersion('v/one', { v: 'again' })), 1);
      // The healthy secret was never touched.
      assert.deepEqual(
        (await store.getSecret('v/healthy'))?.versions.map((v) => v.data['v']),
        ['1', '2', '3', '4'],
      );
      assert.deepEqual(await store.listDamagedRows(), []);
    });

    it('pages through the secrets: a damaged version after the first page is found', async (t) => {
      const { store, tamper } = await open(t);
      assert.ok(tamper, 'the store factory gives no way to change rows behind the store');
      const total = VERSION_SCAN_PAGE * 2 + 3;
      await Promise.all(
        Array.from({ length: total }, (_, i) =>
          store.updateSecret(`p/${String(i)}`, putVersion(`p/${String(i)}`, { i: String(i) })),
        ),
      );
      // The place that sorts last, so that it is on the last page.
      const rows = (await tamper.versionRows()).map((r) => r.id).sort();
      assert.equal(rows.length, total);
      const last = rows[rows.length - 1]!;
      const envelope = (await tamper.readVersion(last, 1))!;
      envelope[20]! ^= 0x80;
      await tamper.writeVersion(last, 1, envelope);
      const damaged = await store.listDamagedRows();
      assert.equal(damaged.length, 1);
      assert.deepEqual(
        { ...damaged[0], name: undefined },
        {
          table: 'secret_versions',
          id: last,
          version: 1,
          kind: 'unreadable',
          name: undefined,
        },
      );
      assert.match(damaged[0]?.name ?? '', /^p\/\d+$/);
    });
  });
}
