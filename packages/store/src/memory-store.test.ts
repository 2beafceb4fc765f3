import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runStoreContract } from './contract.ts';
import { putVersion } from './contract-fixture.ts';
import { createMemoryStore } from './memory-store.ts';

runStoreContract(
  'memory',
  () => {
    const store = createMemoryStore();
    return Promise.resolve({ store, cleanup: () => store.close() });
  },
  { versionRows: false },
);

describe('memory store', () => {
  it('is usable without unlock and reports itself as non-persistent', async () => {
    const store = createMemoryStore();
    assert.equal(store.kind, 'memory');
    assert.equal(store.persistent, false);
    assert.equal(store.isUnlocked(), true);
    await store.updateSecret('a', putVersion('a', { k: 'v' }));
    assert.deepEqual(await store.listSecretPaths(), ['a']);
    assert.equal(await store.isInitialized(), false);
    await store.close();
    assert.equal(store.isUnlocked(), false);
  });

  it('keeps nothing across instances', async () => {
    const first = createMemoryStore();
    await first.updateSecret('a', putVersion('a', { k: 'v' }));
    await first.close();
    const second = createMemoryStore();
    assert.deepEqual(await second.listSecretPaths(), []);
    await second.close();
  });
});
