import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeShardBody } from './shard-json.ts';

describe('encodeShardBody', () => {
  it('writes the same JSON as JSON.stringify for every byte value', () => {
    const shard = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) % 256);
    shard[0] = 0;
    shard[1] = 9;
    shard[2] = 10;
    shard[3] = 99;
    shard[4] = 100;
    shard[5] = 255;
    const text = new TextDecoder().decode(encodeShardBody(shard));
    assert.equal(text, JSON.stringify({ shard: Array.from(shard) }));
  });

  it('appends the rest of the object after the array', () => {
    const text = new TextDecoder().decode(encodeShardBody(new Uint8Array([1, 2]), ',"Err":""'));
    assert.equal(text, '{"shard":[1,2],"Err":""}');
    assert.deepEqual(JSON.parse(text), { shard: [1, 2], Err: '' });
  });
});
