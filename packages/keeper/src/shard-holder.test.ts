import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createShardHolder, InvalidShardError, isAllZero } from './shard-holder.ts';

const shardOf = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

describe('shard holder', () => {
  it('starts empty', () => {
    const holder = createShardHolder();
    assert.equal(holder.hasShard(), false);
    assert.equal(holder.copy(), undefined);
  });

  it('stores a copy, and returns copies', () => {
    const holder = createShardHolder();
    const input = shardOf(7);
    holder.set(input);
    input.fill(0); // the caller zeroing its buffer must not affect the held share
    const a = holder.copy();
    assert.ok(a);
    assert.deepEqual([...a], [...shardOf(7)]);
    a.fill(0); // nor must zeroing a copy
    assert.deepEqual([...(holder.copy() ?? [])], [...shardOf(7)]);
  });

  it('replaces the share and clears it', () => {
    const holder = createShardHolder();
    holder.set(shardOf(1));
    holder.set(shardOf(2));
    assert.deepEqual([...(holder.copy() ?? [])], [...shardOf(2)]);
    holder.clear();
    assert.equal(holder.hasShard(), false);
    assert.equal(holder.copy(), undefined);
  });

  it('rejects all-zero and wrongly sized shares, keeping the old one', () => {
    const holder = createShardHolder();
    holder.set(shardOf(3));
    assert.throws(() => holder.set(new Uint8Array(32)), InvalidShardError);
    assert.throws(() => holder.set(new Uint8Array(31).fill(1)), InvalidShardError);
    assert.throws(() => holder.set(new Uint8Array(33).fill(1)), InvalidShardError);
    assert.deepEqual([...(holder.copy() ?? [])], [...shardOf(3)]);
  });

  it('isAllZero', () => {
    assert.equal(isAllZero(new Uint8Array(32)), true);
    const one = new Uint8Array(32);
    one[31] = 1;
    assert.equal(isAllZero(one), false);
  });
});
