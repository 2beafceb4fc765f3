import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  WrongRootKeyError,
  computeKeyCheckValue,
  constantTimeEqual,
  splitRootKey,
  verifyKeyCheckValue,
} from '@spike-ts/core';
import { combinations, findRootKey } from './find-root-key.ts';

const keyOf = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 7 + i * 13 + 1) % 256);

/** install() of a store with (or without) a key-check value; records what was offered. */
function store(kcvKey?: Uint8Array) {
  let kcv = kcvKey === undefined ? undefined : computeKeyCheckValue(kcvKey);
  const offered: Uint8Array[] = [];
  let installed: Uint8Array | undefined;
  return {
    offered,
    installed: () => installed,
    install(key: Uint8Array) {
      offered.push(Uint8Array.from(key));
      if (kcv !== undefined && !verifyKeyCheckValue(key, kcv)) return Promise.reject(new WrongRootKeyError());
      kcv ??= computeKeyCheckValue(key);
      installed = Uint8Array.from(key);
      return Promise.resolve();
    },
  };
}

describe('combinations', () => {
  it('yields every k-subset once, in order', () => {
    assert.deepEqual(
      [...combinations(4, 2)],
      [
        [0, 1],
        [0, 2],
        [0, 3],
        [1, 2],
        [1, 3],
        [2, 3],
      ],
    );
    assert.deepEqual([...combinations(3, 3)], [[0, 1, 2]]);
    assert.deepEqual([...combinations(2, 3)], []);
    assert.equal([...combinations(10, 4)].length, 210);
    assert.equal([...combinations(30, 10, 100)].length, 100);
  });
});

describe('findRootKey', () => {
  it('recovers the key from any threshold-or-more shares', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer(),
        async (t, extra, seed) => {
          const key = keyOf(seed);
          const shares = splitRootKey(key, t, t + extra);
          const s = store(key);
          const r = await findRootKey(shares, t, (k) => s.install(k));
          assert.ok(r.installed);
          assert.deepEqual(r.suspectIds, []);
          assert.equal(s.offered.length, 1);
          assert.ok(constantTimeEqual(s.installed()!, key));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('names the keeper holding a foreign share and installs the right key', async () => {
    const key = keyOf(1);
    const shares = splitRootKey(key, 3, 5);
    const foreign = splitRootKey(keyOf(2), 3, 5)[3]!;
    shares[3] = foreign; // share id 4 replaced by another key's share 4
    const s = store(key);
    const r = await findRootKey(shares, 3, (k) => s.install(k));
    assert.ok(r.installed);
    assert.deepEqual(r.suspectIds, [4]);
    assert.ok(s.offered.every((k) => constantTimeEqual(k, key)));
  });

  it('on a store without a key-check value, a mixed set never installs a wrong key', async () => {
    const good = splitRootKey(keyOf(3), 2, 3);
    const foreign = splitRootKey(keyOf(4), 2, 3);
    const s = store(undefined);
    const r = await findRootKey([good[0]!, foreign[1]!], 2, (k) => s.install(k));
    assert.equal(r.installed, false);
    assert.equal(r.inconsistentCombinations, 1);
    assert.equal(s.offered.length, 0);
  });

  it('a corrupted share is detected too', async () => {
    const key = keyOf(5);
    const shares = splitRootKey(key, 2, 3);
    const corrupted = Uint8Array.from(shares[0]!.value);
    corrupted[31] = (corrupted[31] ?? 0) ^ 1;
    const s = store(undefined);
    const r = await findRootKey([{ id: 1, value: corrupted }, shares[1]!, shares[2]!], 2, (k) =>
      s.install(k),
    );
    assert.ok(r.installed);
    assert.deepEqual(r.suspectIds, [1]);
    assert.ok(constantTimeEqual(s.installed()!, key));
  });

  it('a consistent set of another key is refused by the key-check', async () => {
    const s = store(keyOf(6));
    const r = await findRootKey(splitRootKey(keyOf(7), 2, 3), 2, (k) => s.install(k));
    assert.equal(r.installed, false);
    assert.equal(r.rejectedCandidates, 1);
    assert.equal(s.installed(), undefined);
  });

  it('propagates failures other than a wrong key', async () => {
    await assert.rejects(
      findRootKey(splitRootKey(keyOf(8), 2, 3), 2, () => Promise.reject(new Error('disk on fire'))),
      /disk on fire/,
    );
  });
});
