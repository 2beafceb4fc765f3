/**
 * The contract every `SecretStore` backend passes (memory, sqlite, postgres). A backend's
 * test file calls `runStoreContract(name, factory)`; the factory returns a fresh, empty,
 * uninitialized store (locked or not) and a cleanup function.
 *
 * Import from `@spike-ts/store/contract` (test code only: it registers `node:test` suites).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test tracks the promises describe/it return */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { randomBytes, WrongRootKeyError } from '@spike-ts/core';
import type { SecretStore } from '@spike-ts/core';
import { versionDamageContract, type VersionRowTamper } from './contract-damage.ts';
import { putVersion, samplePolicy } from './contract-fixture.ts';
import { policyContract } from './contract-policies.ts';
import { rotationContract } from './contract-rotation.ts';
import { secretContract } from './contract-secrets.ts';
import { InvalidRecordError, StoreClosedError } from './store-error.ts';

/**
 * A fresh store and its cleanup; `tamper` (backends with rows a test can reach behind the store)
 * runs the damaged-version-row contract.
 */
export type StoreFactory = () => Promise<{
  store: SecretStore;
  cleanup(): Promise<void>;
  tamper?: VersionRowTamper;
}>;
export type { VersionRowTamper } from './contract-damage.ts';

export interface StoreContractOptions {
  /** False for a backend without rows a test can reach behind it (memory): no damaged-version-row cases. */
  readonly versionRows?: boolean;
}

export function runStoreContract(
  name: string,
  makeStore: StoreFactory,
  options: StoreContractOptions = {},
): void {
  const rootKey = randomBytes(32);

  /** A fresh store, unlocked with `rootKey` unless told otherwise; cleaned up after the test. */
  const open = async (t: TestContext, unlock = true): Promise<SecretStore> => {
    const made = await makeStore();
    const store = made.store;
    t.after(() => made.cleanup());
    if (unlock) await store.unlock(rootKey);
    return store;
  };

  describe(`SecretStore contract: ${name}`, () => {
    describe('lifecycle', () => {
      it('starts empty and uninitialized; unlock initializes it', async (t) => {
        const store = await open(t, false);
        assert.equal(typeof store.kind, 'string');
        assert.equal(await store.isInitialized(), false);
        await store.unlock(rootKey);
        assert.equal(store.isUnlocked(), true);
        assert.equal(await store.isInitialized(), true);
        assert.equal(await store.getSecret('a'), undefined);
        assert.deepEqual(await store.listSecretPaths(), []);
        assert.equal(await store.getPolicy('a'), undefined);
        assert.deepEqual(await store.listPolicies(), []);
      });

      it('accepts the same root key again and refuses another one, keeping its data usable', async (t) => {
        const store = await open(t);
        await store.updateSecret('k', putVersion('k', { v: '1' }));
        await store.unlock(Uint8Array.from(rootKey));
        await assert.rejects(store.unlock(randomBytes(32)), WrongRootKeyError);
        assert.equal(store.isUnlocked(), true);
        assert.equal((await store.getSecret('k'))?.versions[0]?.data['v'], '1');
      });

      it('rejects root keys that are not 32 bytes', async (t) => {
        const store = await open(t, false);
        await assert.rejects(store.unlock(new Uint8Array(16)), TypeError);
        await assert.rejects(store.unlock(new Uint8Array(33)), TypeError);
        assert.equal(await store.isInitialized(), false);
      });

      it('rejects calls after close and completes writes queued before it', async (t) => {
        const store = await open(t);
        const pending = store.updateSecret('q', putVersion('q', { v: 'queued' }));
        const policy = store.putPolicy(samplePolicy('p'));
        await store.close();
        assert.equal(await pending, 1);
        await policy;
        await assert.rejects(store.getSecret('q'), StoreClosedError);
        await assert.rejects(store.updateSecret('q', putVersion('q', {})), StoreClosedError);
        await assert.rejects(store.listPolicies(), StoreClosedError);
        await store.close();
      });
    });

    describe('damaged rows', () => {
      it('a healthy store: the scans equal the listings and nothing is damaged or removable', async (t) => {
        const store = await open(t);
        await store.updateSecret('b/x', putVersion('b/x', { v: '1' }));
        await store.updateSecret('a/y', putVersion('a/y', { v: '2' }));
        await store.putPolicy(samplePolicy('zeta'));
        await store.putPolicy(samplePolicy('eta'));
        assert.deepEqual(await store.scanSecretPaths(), {
          paths: await store.listSecretPaths(),
          damaged: [],
        });
        const scan = await store.scanPolicies();
        assert.deepEqual(scan.damaged, []);
        assert.deepEqual(
          scan.policies.map((p) => p.name),
          (await store.listPolicies()).map((p) => p.name),
        );
        assert.deepEqual(await store.listDamagedRows(), []);
        for (const table of ['policies', 'secrets'] as const) {
          assert.equal(await store.removeDamagedRow(table, 'ab'.repeat(32)), false);
        }
        assert.deepEqual(await store.listSecretPaths(), ['a/y', 'b/x']);
        assert.equal((await store.listPolicies()).length, 2);
      });

      it('removal refuses malformed places and works only while open', async (t) => {
        const store = await open(t);
        for (const [table, id] of [
          ['versions', '00'.repeat(32)],
          ['policies', '00'.repeat(33)],
          ['secrets', 'AB'.repeat(32)],
          ['secrets', 42],
        ] as const) {
          await assert.rejects(store.removeDamagedRow(table as never, id as never), InvalidRecordError);
        }
        await store.close();
        await assert.rejects(store.listDamagedRows(), StoreClosedError);
        await assert.rejects(store.scanPolicies(), StoreClosedError);
        await assert.rejects(store.scanSecretPaths(), StoreClosedError);
        await assert.rejects(store.removeDamagedRow('policies', '00'.repeat(32)), StoreClosedError);
      });
    });

    if (options.versionRows !== false)
      versionDamageContract(async (t) => {
        const made = await makeStore();
        t.after(() => made.cleanup());
        await made.store.unlock(rootKey);
        return { store: made.store, ...(made.tamper === undefined ? {} : { tamper: made.tamper }) };
      });

    secretContract((t) => open(t));
    policyContract((t) => open(t));
    rotationContract(async (t, key) => {
      const made = await makeStore();
      t.after(() => made.cleanup());
      await made.store.unlock(key);
      return made.store;
    });
  });
}
