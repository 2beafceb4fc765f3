import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DurationSyntaxError, formatDuration, parseGoDuration } from './go-duration.ts';

describe('parseGoDuration', () => {
  it('accepts the Go forms SPIKE uses', () => {
    const cases: Array<[string, number]> = [
      ['30s', 30_000],
      ['1m', 60_000],
      ['500ms', 500],
      ['1h30m', 5_400_000],
      ['1.5h', 5_400_000],
      ['2h45m30.5s', 9_930_500],
      ['0', 0],
      ['+5s', 5000],
      ['-5s', -5000],
      ['1000us', 1],
      ['1000µs', 1],
      ['1000μs', 1],
      ['1000000ns', 1],
      ['.5s', 500],
      ['1.s', 1000],
    ];
    for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
  });

  it('rejects what Go rejects, with a helpful message', () => {
    for (const bad of [
      '',
      '30',
      's',
      '1x',
      '1d',
      '1 s',
      ' 1s',
      '1s ',
      '--1s',
      '.s',
      '1m-2s',
      '0x10s',
      '1e3s',
      '-',
      'abc',
    ]) {
      assert.throws(
        () => parseGoDuration(bad),
        (err: unknown) => {
          assert.ok(err instanceof DurationSyntaxError, bad);
          assert.match(err.message, /Go syntax such as 500ms, 30s/);
          return true;
        },
      );
    }
  });

  it('rejects over-long input without echoing it all', () => {
    const long = '1s'.repeat(100);
    assert.throws(() => parseGoDuration(long), /too long/);
  });

  it('round-trips whole seconds, minutes and hours', () => {
    fc.assert(
      fc.property(fc.nat(99), fc.nat(59), fc.nat(59), (h, m, s) => {
        const text = `${h}h${m}m${s}s`;
        assert.equal(parseGoDuration(text), ((h * 60 + m) * 60 + s) * 1000);
      }),
    );
  });
});

describe('formatDuration', () => {
  it('formats compactly', () => {
    assert.equal(formatDuration(500), '500ms');
    assert.equal(formatDuration(30_000), '30s');
    assert.equal(formatDuration(60_000), '1m');
    assert.equal(formatDuration(5_430_000), '1h30m30s');
  });
});
