import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  combineShares,
  generateRootKey,
  isValidRootKey,
  ShamirError,
  type ShamirErrorCode,
  type Share,
  shardFromJson,
  shardToJson,
  splitRootKey,
  validateShare,
} from './shamir.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const N_HEX = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';

function throwsCode(fn: () => unknown, code: ShamirErrorCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ShamirError, `expected ShamirError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/**
 * Known answers produced by SPIKE's algorithm on the reference stack: github.com/cloudflare/circl
 * v1.6.3 `secretsharing.New(reader, t-1, scalar).Share(n)` over `group.P256`, with `reader` being
 * SPIKE's deterministic SHA-256 chain seeded with the root key.
 */
const CIRCL_VECTORS = [
  {
    key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    threshold: 2,
    shares: [
      '630ecf2c6ac9396d991b5e53c7bf695f0423b6af8742c8dfc3dad27337f42efc',
      'c61c9c55d18d6cd42a2db29c8371c4aef8365b4bfa707ba86f9c8acb53cb3fd9',
      '292a69803851a039bb4006e53f241fff2f62053ac6868fec27a47860733f2b65',
    ],
  },
  {
    key: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    threshold: 3,
    shares: [
      'f3031f63a0e1977b475f400915e2a0ebe2763cfc91985812c26f78e9a21daae6',
      'c2dd5775efbf324ad536d49d632d231b739c08b0d065efd38d7223d9a5627998',
      '0f1578b874e54dd443b6a85dad3a56a45730b237e774496f32656ce5babe761e',
      'd7ab83293053ea1992debb49f40a3b8607022eed24f2a1ef98bce993daf7eb1a',
      '1c9f76cb220b0717c2af0d62379cd1c14c5b8ec7939a1dc5e54b399b10e56899',
    ],
  },
  {
    key: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550',
    threshold: 5,
    shares: [
      'a709415b4d7c51ffb8cf6f48ac5d77a772ee25395007b1d3a44975b230a722aa',
      'a59b0707463397b0008d3a9dbf7ada8d69b434fb872da3f13f9a33b200f5023d',
      '59627f224663dadc0c8ea6074d24142e901d74b3c13f1c6a8d605d94486576bc',
      '485d63c94e05f358e035bb70c37ddc9ba41064d571ce3ed1ae476fb01c707a07',
      '20d9fb1900cd87044cf14aa8eb05b879b8a7c62cbd1a6db4347e745bd4270289',
      'b977172ba62909c6f23ce961e691f901b0008f39c63f87a50b2b997300f94dda',
      '1124161d2941bd903da0f3313351bc01479e017a12d76d28a785054a7d2a4b7b',
      '4f20e20418fbb25d6ab2898fa8ccebd942ba84281c9f5657b2e562055285a20d',
    ],
  },
  {
    key: '00'.repeat(31) + '01',
    threshold: 1,
    shares: ['00'.repeat(31) + '01', '00'.repeat(31) + '01'],
  },
];

const rootKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter(isValidRootKey);

/** A root key, t-of-n (n ≤ 16, t ≤ 10) and a shuffled pick of share indexes. */
const scenarioArb = fc.record({ key: rootKeyArb, n: fc.integer({ min: 1, max: 16 }) }).chain(({ key, n }) =>
  fc.integer({ min: 1, max: Math.min(n, 10) }).chain((t) =>
    fc.record({
      key: fc.constant(key),
      n: fc.constant(n),
      t: fc.constant(t),
      order: fc.shuffledSubarray(
        Array.from({ length: n }, (_, i) => i),
        { minLength: n, maxLength: n },
      ),
    }),
  ),
);

describe('splitRootKey / combineShares', () => {
  for (const v of CIRCL_VECTORS) {
    it(`reproduces circl's shares for ${v.threshold}-of-${v.shares.length}`, () => {
      const shares = splitRootKey(hex(v.key), v.threshold, v.shares.length);
      assert.deepEqual(
        shares.map((s) => s.id),
        v.shares.map((_, i) => i + 1),
      );
      assert.deepEqual(
        shares.map((s) => toHex(s.value)),
        v.shares,
      );
      const picked = shares.slice().reverse().slice(0, v.threshold);
      assert.equal(toHex(combineShares(picked, v.threshold)), v.key);
    });
  }

  it('any t shares recover the key, t-1 never do, and splitting is deterministic', () => {
    fc.assert(
      fc.property(scenarioArb, ({ key, n, t, order }) => {
        const shares = splitRootKey(key, t, n);
        assert.equal(shares.length, n);
        assert.deepEqual(splitRootKey(key, t, n), shares, 'deterministic');
        for (const s of shares) validateShare(s, n);

        const pick = order.map((i) => shares[i]!);
        assert.deepEqual(combineShares(pick.slice(0, t), t), key, 't shares recover');
        assert.deepEqual(combineShares(pick, t), key, 'more than t shares recover');

        if (t >= 2) {
          const fewer = pick.slice(0, t - 1);
          throwsCode(() => combineShares(fewer, t), 'shamir_not_enough_shards');
          let got: Uint8Array | undefined;
          try {
            got = combineShares(fewer, fewer.length);
          } catch (err) {
            assert.ok(err instanceof ShamirError && err.code === 'shamir_reconstruction_failed');
          }
          if (got !== undefined) assert.notDeepEqual(got, key, 't-1 shares must not recover the key');
        }
      }),
      { numRuns: 120 },
    );
  });

  it('with threshold 1 every share is the key', () => {
    const key = generateRootKey();
    const shares = splitRootKey(key, 1, 3);
    for (const s of shares) assert.deepEqual(s.value, key);
    assert.deepEqual(combineShares([shares[2]!], 1), key);
    throwsCode(() => combineShares([shares[2]!]), 'shamir_not_enough_shards');
    throwsCode(() => combineShares([], 1), 'shamir_not_enough_shards');
  });

  it('different keys give different shares', () => {
    const a = splitRootKey(hex(CIRCL_VECTORS[0]!.key), 2, 3);
    const other = hex(CIRCL_VECTORS[0]!.key);
    other[31] = 0x20;
    const b = splitRootKey(other, 2, 3);
    assert.notDeepEqual(a[0]!.value, b[0]!.value);
  });

  it('rejects invalid root keys and counts with RangeError', () => {
    const key = generateRootKey();
    for (const bad of [new Uint8Array(32), hex(N_HEX), new Uint8Array(32).fill(0xff), new Uint8Array(31)]) {
      assert.equal(isValidRootKey(bad), false);
      assert.throws(() => splitRootKey(bad, 2, 3), RangeError);
    }
    for (const [t, n] of [
      [0, 3],
      [4, 3],
      [2, 0],
      [1.5, 3],
      [2, 70_000],
    ] as const) {
      assert.throws(() => splitRootKey(key, t, n), RangeError, `${t}-of-${n}`);
    }
  });

  it('generateRootKey returns distinct valid keys', () => {
    const a = generateRootKey();
    const b = generateRootKey();
    assert.ok(isValidRootKey(a) && isValidRootKey(b));
    assert.notDeepEqual(a, b);
  });
});

describe('bad shares', () => {
  const key = hex(CIRCL_VECTORS[1]!.key);
  const shares = splitRootKey(key, 3, 5);
  const good = shares[0]!;
  const withValue = (value: Uint8Array, id = 9): Share => ({ id, value });

  it('zero value → shamir_empty_shard', () => {
    throwsCode(() => validateShare(withValue(new Uint8Array(32))), 'shamir_empty_shard');
    throwsCode(
      () => combineShares([shares[1]!, withValue(new Uint8Array(32)), shares[2]!], 3),
      'shamir_empty_shard',
    );
  });

  it('duplicate id → shamir_duplicate_index', () => {
    throwsCode(
      () => combineShares([shares[0]!, shares[1]!, { id: 1, value: shares[2]!.value }], 3),
      'shamir_duplicate_index',
    );
    throwsCode(() => combineShares([shares[0]!, shares[0]!, shares[1]!], 3), 'shamir_duplicate_index');
  });

  it('id 0, negative, non-integer, unsafe or above max → shamir_invalid_index', () => {
    for (const id of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      throwsCode(() => validateShare({ id, value: good.value }), 'shamir_invalid_index');
    }
    throwsCode(() => validateShare({ id: 6, value: good.value }, 5), 'shamir_invalid_index');
    validateShare({ id: 5, value: good.value }, 5);
    throwsCode(
      () => validateShare({ id: '1', value: good.value } as unknown as Share),
      'shamir_invalid_index',
    );
    throwsCode(
      () => combineShares([shares[0]!, shares[1]!, { id: 0, value: shares[2]!.value }], 3),
      'shamir_invalid_index',
    );
  });

  it('value ≥ n, wrong length or missing → shamir_nil_shard', () => {
    throwsCode(() => validateShare(withValue(hex(N_HEX))), 'shamir_nil_shard');
    throwsCode(() => validateShare(withValue(new Uint8Array(32).fill(0xff))), 'shamir_nil_shard');
    throwsCode(() => validateShare(withValue(good.value.subarray(0, 31))), 'shamir_nil_shard');
    throwsCode(() => validateShare(withValue(Uint8Array.of(...good.value, 1))), 'shamir_nil_shard');
    throwsCode(() => validateShare({ id: 1 } as unknown as Share), 'shamir_nil_shard');
    throwsCode(() => validateShare(null as unknown as Share), 'shamir_nil_shard');
    throwsCode(
      () => validateShare({ id: 1, value: Array.from(good.value) } as unknown as Share),
      'shamir_nil_shard',
    );
    throwsCode(() => combineShares([shares[0]!, shares[1]!, withValue(hex(N_HEX))], 3), 'shamir_nil_shard');
  });

  it('fewer shares than the threshold → shamir_not_enough_shards', () => {
    throwsCode(() => combineShares(shares.slice(0, 2), 3), 'shamir_not_enough_shards');
    throwsCode(() => combineShares([]), 'shamir_not_enough_shards');
  });

  it('valid shares of one key are all accepted', () => {
    for (const s of shares) validateShare(s, 5);
  });
});

describe('shard JSON', () => {
  it('round-trips 32 bytes as 32 integers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const json = shardToJson(bytes);
        assert.equal(json.length, 32);
        assert.ok(json.every((b) => Number.isInteger(b) && b >= 0 && b <= 255));
        assert.deepEqual(shardFromJson(JSON.parse(JSON.stringify(json))), bytes);
      }),
    );
  });

  it('rejects anything but exactly 32 integers 0..255 with shamir_nil_shard', () => {
    const ok = Array.from({ length: 32 }, (_, i) => i);
    const bad: unknown[] = [
      ok.slice(0, 31),
      [...ok, 0],
      [],
      null,
      undefined,
      'AAAA',
      { 0: 1, length: 32 },
      ok.map((b, i) => (i === 3 ? 256 : b)),
      ok.map((b, i) => (i === 3 ? -1 : b)),
      ok.map((b, i) => (i === 3 ? 1.5 : b)),
      ok.map((b, i) => (i === 3 ? '1' : b)),
      ok.map((b, i) => (i === 3 ? null : b)),
      ok.map((b, i) => (i === 3 ? Number.NaN : b)),
    ];
    for (const value of bad) throwsCode(() => shardFromJson(value), 'shamir_nil_shard');
    throwsCode(() => shardToJson(new Uint8Array(31)), 'shamir_nil_shard');
  });

  it('parses an all-zero shard, which validateShare then rejects as empty', () => {
    const zero = shardFromJson(new Array(32).fill(0));
    throwsCode(() => validateShare({ id: 1, value: zero }), 'shamir_empty_shard');
  });
});
