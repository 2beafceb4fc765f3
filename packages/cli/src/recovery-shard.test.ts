import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatShard, parseShard } from './recovery-shard.ts';
import { CliError } from './exit-code.ts';

const HEX = 'ab'.repeat(32);

describe('recovery share text', () => {
  it('formats spike:<i>:<64 lowercase hex> with no newline', () => {
    const shard = new Uint8Array(32).fill(0xab);
    assert.equal(formatShard(3, shard), `spike:3:${HEX}`);
  });

  it('round-trips any non-zero shard and index', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((a) => a.some((b) => b !== 0)),
        (id, shard) => {
          const text = formatShard(id, shard);
          assert.match(text, /^spike:\d+:[0-9a-f]{64}$/);
          const parsed = parseShard(`  ${text}\n`);
          assert.equal(parsed.id, id);
          assert.deepEqual(parsed.shard, shard);
        },
      ),
    );
  });

  it('accepts upper-case hex', () => {
    assert.equal(parseShard(`spike:1:${HEX.toUpperCase()}`).shard[0], 0xab);
  });

  const bad: [string, RegExp][] = [
    ['', /expected 'spike:<index>:<64 hex/],
    [`spike:1`, /expected/],
    [`spike:1:${HEX}:x`, /expected/],
    [`spike1:1:${HEX}`, /expected/],
    [`spike:0:${HEX}`, /index must be a number from 1 to 1000/],
    [`spike:1001:${HEX}`, /index/],
    [`spike:-1:${HEX}`, /index/],
    [`spike:x:${HEX}`, /index/],
    [`spike:1:${HEX.slice(2)}`, /exactly 64 hex/],
    [`spike:1:${HEX}00`, /exactly 64 hex/],
    [`spike:1:${'zz'.repeat(32)}`, /exactly 64 hex/],
    [`spike:1:${'00'.repeat(32)}`, /all zeros/],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 24))} without echoing the share`, () => {
      assert.throws(
        () => parseShard(input),
        (err: unknown) => {
          assert.ok(err instanceof CliError);
          assert.equal(err.exitCode, 1);
          assert.match(err.message, message);
          assert.ok(!err.message.includes('abab'), 'the share must not appear in the message');
          return true;
        },
      );
    });
  }
});
