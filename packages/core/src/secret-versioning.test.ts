import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SecretRecord } from './model.ts';
import {
  deleteSecretVersions,
  formatRfc3339,
  NotFoundError,
  putSecretVersion,
  pickSecretVersion,
  readLiveVersion,
  readSecretVersion,
  resolveVersion,
  secretMetadataView,
  undeleteSecretVersions,
} from './secret-versioning.ts';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 0);
const PATH = 'tenants/demo/db/creds';

/** Put `n` versions (values {v: "<n>"}) at times T0, T0+1000, ... */
function withVersions(n: number, maxVersions = 10): SecretRecord {
  let rec: SecretRecord | undefined;
  for (let i = 1; i <= n; i++)
    rec = putSecretVersion(rec, PATH, { v: String(i) }, T0 + (i - 1) * 1000, maxVersions);
  return rec!;
}

const numbers = (r: SecretRecord): number[] => r.versions.map((v) => v.version);
const live = (r: SecretRecord): number[] =>
  r.versions.filter((v) => v.deletedTime === null).map((v) => v.version);

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('putSecretVersion', () => {
  it('creates version 1 and then increments', () => {
    const r1 = putSecretVersion(undefined, PATH, { user: 'SPIKE' }, T0, 10);
    assert.deepEqual(r1, {
      path: PATH,
      versions: [{ version: 1, data: { user: 'SPIKE' }, createdTime: T0, deletedTime: null }],
      metadata: { currentVersion: 1, oldestVersion: 1, createdTime: T0, updatedTime: T0, maxVersions: 10 },
    });
    const r2 = putSecretVersion(deepFreeze(r1), PATH, { user: 'x' }, T0 + 5, 10);
    assert.deepEqual(numbers(r2), [1, 2]);
    assert.equal(r2.metadata.currentVersion, 2);
    assert.equal(r2.metadata.oldestVersion, 1);
    assert.equal(r2.metadata.createdTime, T0);
    assert.equal(r2.metadata.updatedTime, T0 + 5);
    assert.deepEqual(readSecretVersion(r2), { user: 'x' });
    assert.deepEqual(readSecretVersion(r2, 1), { user: 'SPIKE' });
  });

  it('copies the values so later changes by the caller do not leak in', () => {
    const values: Record<string, string> = { a: '1' };
    const r = putSecretVersion(undefined, PATH, values, T0, 10);
    values['a'] = 'changed';
    assert.deepEqual(readSecretVersion(r), { a: '1' });
  });

  it('really prunes the lowest versions beyond maxVersions', () => {
    const r = withVersions(5, 3);
    assert.deepEqual(numbers(r), [3, 4, 5]);
    assert.equal(r.metadata.oldestVersion, 3);
    assert.equal(r.metadata.currentVersion, 5);
    assert.throws(() => readSecretVersion(r, 1), NotFoundError);
    assert.throws(() => readSecretVersion(r, 2), NotFoundError);
    assert.deepEqual(readSecretVersion(r, 3), { v: '3' });
    assert.deepEqual(Object.keys(secretMetadataView(r).versions), ['3', '4', '5']);
  });

  it('reads one version from a one-version read exactly as from the whole record', () => {
    const r = deleteSecretVersions(withVersions(5, 3), [4], T0 + 1).record;
    for (const v of [0, 1, 2, 3, 4, 5, 6]) {
      const whole = attemptRead(() => readSecretVersion(r, v));
      const one = attemptRead(() => readLiveVersion(pickSecretVersion(r, v), v));
      assert.deepEqual(one, whole, `version ${String(v)}`);
    }
    assert.throws(() => readLiveVersion(undefined), NotFoundError);
    // An answer for another version than asked is never passed off as the asked one.
    assert.throws(() => readLiveVersion(pickSecretVersion(r, 3), 5), NotFoundError);
  });

  it('keeps the maxVersions captured when the secret was created', () => {
    const r = putSecretVersion(withVersions(3, 3), PATH, { v: '4' }, T0 + 9000, 10);
    assert.deepEqual(numbers(r), [2, 3, 4]);
    assert.equal(r.metadata.maxVersions, 3);
    const repaired = putSecretVersion(
      { ...withVersions(1, 3), metadata: { ...withVersions(1, 3).metadata, maxVersions: 0 } },
      PATH,
      { v: '2' },
      T0,
      7,
    );
    assert.equal(repaired.metadata.maxVersions, 7);
    assert.throws(() => putSecretVersion(undefined, PATH, {}, T0, 0), RangeError);
  });

  it('after every version was deleted, numbers the new one above the highest kept', () => {
    const all = deleteSecretVersions(withVersions(3), [1, 2, 3], T0 + 10_000).record;
    assert.equal(all.metadata.currentVersion, 0);
    const r = putSecretVersion(all, PATH, { v: 'new' }, T0 + 20_000, 10);
    assert.equal(r.metadata.currentVersion, 4);
    assert.equal(r.metadata.oldestVersion, 4);
    assert.deepEqual(live(r), [4]);
  });

  it('never overwrites a deleted version above the current one', () => {
    const deleted = deleteSecretVersions(withVersions(3), [3], T0 + 10_000).record;
    assert.equal(deleted.metadata.currentVersion, 2);
    const r = putSecretVersion(deleted, PATH, { v: 'new' }, T0 + 20_000, 10);
    assert.equal(r.metadata.currentVersion, 4);
    assert.deepEqual(numbers(r), [1, 2, 3, 4]);
    // version 3 is still there, still deleted, and can be revived with its own data
    const back = undeleteSecretVersions(r, [3], T0 + 30_000).record;
    assert.deepEqual(readSecretVersion(back, 3), { v: '3' });
  });
});

describe('deleteSecretVersions', () => {
  it('empty list or 0 means the current version', () => {
    for (const versions of [[], [0]]) {
      const { record, changed } = deleteSecretVersions(withVersions(3), versions, T0 + 9999);
      assert.equal(changed, true);
      assert.deepEqual(live(record), [1, 2]);
      assert.equal(record.metadata.currentVersion, 2);
      assert.equal(record.metadata.updatedTime, T0 + 9999);
      assert.equal(record.versions[2]?.deletedTime, T0 + 9999);
    }
  });

  it('deleting the current version falls back to the highest live one, or 0', () => {
    let r = deleteSecretVersions(withVersions(4), [2], T0 + 1).record;
    assert.equal(r.metadata.currentVersion, 4);
    r = deleteSecretVersions(r, [4], T0 + 2).record;
    assert.equal(r.metadata.currentVersion, 3);
    r = deleteSecretVersions(r, [3, 1], T0 + 3).record;
    assert.equal(r.metadata.currentVersion, 0);
    assert.equal(r.metadata.oldestVersion, 0);
    assert.throws(() => readSecretVersion(r), NotFoundError);
    assert.equal(r.path, PATH, 'the path is never removed');
  });

  it('recomputes the oldest live version', () => {
    const r = deleteSecretVersions(withVersions(4), [1, 2], T0 + 1).record;
    assert.equal(r.metadata.oldestVersion, 3);
  });

  it('ignores missing versions and reports no change', () => {
    const before = deepFreeze(withVersions(2));
    const { record, changed } = deleteSecretVersions(before, [7, 99], T0 + 1);
    assert.equal(changed, false);
    assert.equal(record, before);
    // with current 0, "current" is nothing
    const none = deleteSecretVersions(before, [1, 2], T0 + 2).record;
    assert.equal(deleteSecretVersions(none, [], T0 + 3).changed, false);
  });

  it('keeps the first deletion time of an already deleted version', () => {
    const once = deleteSecretVersions(withVersions(2), [1], T0 + 1).record;
    const twice = deleteSecretVersions(once, [1], T0 + 2);
    assert.equal(twice.changed, false);
    assert.equal(twice.record.versions[0]?.deletedTime, T0 + 1);
  });

  it('throws NotFoundError for a missing secret', () => {
    assert.throws(() => deleteSecretVersions(undefined, [], T0), NotFoundError);
  });
});

describe('undeleteSecretVersions', () => {
  it('revives a fully deleted secret with an empty list or 0 (the highest deleted version)', () => {
    const all = deleteSecretVersions(withVersions(3), [1, 2, 3], T0 + 1).record;
    for (const versions of [[], [0]]) {
      const { record, changed } = undeleteSecretVersions(all, versions, T0 + 2);
      assert.equal(changed, true);
      assert.deepEqual(live(record), [3]);
      assert.equal(record.metadata.currentVersion, 3);
      assert.equal(record.metadata.oldestVersion, 3);
      assert.equal(record.metadata.updatedTime, T0 + 2);
      assert.deepEqual(readSecretVersion(record), { v: '3' });
    }
  });

  it('an undeleted version above the current one becomes current', () => {
    const r = deleteSecretVersions(withVersions(3), [3, 1], T0 + 1).record;
    assert.equal(r.metadata.currentVersion, 2);
    const up = undeleteSecretVersions(r, [3], T0 + 2).record;
    assert.equal(up.metadata.currentVersion, 3);
    const low = undeleteSecretVersions(r, [1], T0 + 3).record;
    assert.equal(low.metadata.currentVersion, 2);
    assert.equal(low.metadata.oldestVersion, 1);
  });

  it('throws NotFoundError when nothing was undeleted', () => {
    const r = withVersions(2);
    assert.throws(() => undeleteSecretVersions(r, [], T0), NotFoundError, 'current is live');
    assert.throws(() => undeleteSecretVersions(r, [0, 1, 2], T0), NotFoundError, 'all live');
    assert.throws(() => undeleteSecretVersions(r, [9], T0), NotFoundError, 'missing version');
    assert.throws(() => undeleteSecretVersions(undefined, [1], T0), NotFoundError, 'missing secret');
  });
});

describe('readSecretVersion', () => {
  it('0 or absent reads the current version; missing and deleted versions are not found', () => {
    const r = deleteSecretVersions(withVersions(3), [2], T0 + 1).record;
    assert.deepEqual(readSecretVersion(r), { v: '3' });
    assert.deepEqual(readSecretVersion(r, 0), { v: '3' });
    assert.deepEqual(readSecretVersion(r, 1), { v: '1' });
    assert.throws(() => readSecretVersion(r, 2), NotFoundError);
    assert.throws(() => readSecretVersion(r, 4), NotFoundError);
    assert.throws(() => readSecretVersion(undefined), NotFoundError);
  });
});

describe('secretMetadataView', () => {
  it('keys versions by their real numbers, with RFC 3339 times and null for live versions', () => {
    const r = deleteSecretVersions(withVersions(3), [1], T0 + 60_000).record;
    assert.deepEqual(secretMetadataView(r), {
      versions: {
        '1': { createdTime: '2025-01-02T03:04:05Z', version: 1, deletedTime: '2025-01-02T03:05:05Z' },
        '2': { createdTime: '2025-01-02T03:04:06Z', version: 2, deletedTime: null },
        '3': { createdTime: '2025-01-02T03:04:07Z', version: 3, deletedTime: null },
      },
      metadata: {
        currentVersion: 3,
        oldestVersion: 2,
        createdTime: '2025-01-02T03:04:05Z',
        updatedTime: '2025-01-02T03:05:05Z',
        maxVersions: 10,
      },
    });
  });

  it('requires the requested (or current) version to exist and be live', () => {
    const r = deleteSecretVersions(withVersions(3), [1], T0 + 1).record;
    assert.equal(Object.keys(secretMetadataView(r, 2).versions).length, 3);
    assert.throws(() => secretMetadataView(r, 1), NotFoundError);
    assert.throws(() => secretMetadataView(r, 9), NotFoundError);
    const none = deleteSecretVersions(r, [2, 3], T0 + 2).record;
    assert.throws(() => secretMetadataView(none), NotFoundError);
    assert.throws(() => secretMetadataView(undefined), NotFoundError);
  });
});

describe('formatRfc3339', () => {
  it('formats like Go time.Time JSON in UTC (trailing fraction zeros dropped)', () => {
    assert.equal(formatRfc3339(T0), '2025-01-02T03:04:05Z');
    assert.equal(formatRfc3339(T0 + 120), '2025-01-02T03:04:05.12Z');
    assert.equal(formatRfc3339(T0 + 1), '2025-01-02T03:04:05.001Z');
    assert.equal(formatRfc3339(T0 + 999), '2025-01-02T03:04:05.999Z');
    assert.equal(formatRfc3339(0), '1970-01-01T00:00:00Z');
  });
});

describe('invariants (property)', () => {
  it('hold after any sequence of put, delete and undelete', () => {
    const versionArb = fc.integer({ min: 0, max: 12 });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const) }),
      fc.record({ kind: fc.constant('delete' as const), versions: fc.array(versionArb, { maxLength: 4 }) }),
      fc.record({ kind: fc.constant('undelete' as const), versions: fc.array(versionArb, { maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (maxVersions, ops) => {
        let rec: SecretRecord | undefined;
        let now = T0;
        let highestEver = 0;
        for (const o of ops) {
          now += 1000;
          if (o.kind === 'put') {
            rec = putSecretVersion(rec, PATH, { n: String(now) }, now, maxVersions);
            const newest = rec.versions[rec.versions.length - 1]!.version;
            assert.ok(newest > highestEver, 'version numbers are never reused');
            highestEver = newest;
            assert.deepEqual(readSecretVersion(rec), { n: String(now) }, 'a put is readable as current');
          } else if (rec === undefined) {
            assert.throws(() => deleteSecretVersions(rec, o.versions, now), NotFoundError);
            continue;
          } else if (o.kind === 'delete') {
            rec = deleteSecretVersions(rec, o.versions, now).record;
          } else {
            try {
              rec = undeleteSecretVersions(rec, o.versions, now).record;
            } catch (err) {
              assert.ok(err instanceof NotFoundError);
            }
          }
          checkInvariants(rec, maxVersions);
        }
      }),
      { numRuns: 500 },
    );
  });
});

function checkInvariants(r: SecretRecord, maxVersions: number): void {
  const nums = numbers(r);
  assert.ok(
    nums.length >= 1 && nums.length <= maxVersions,
    `at most ${maxVersions} versions: ${nums.join(',')}`,
  );
  for (let i = 1; i < nums.length; i++) assert.ok(nums[i]! > nums[i - 1]!, 'sorted and unique');
  const liveNums = live(r);
  const { currentVersion, oldestVersion } = r.metadata;
  if (currentVersion === 0) {
    assert.deepEqual(liveNums, [], 'current 0 only when nothing is live');
    assert.equal(oldestVersion, 0);
  } else {
    assert.ok(liveNums.includes(currentVersion), 'current is live');
    assert.equal(currentVersion, Math.max(...liveNums), 'current is the highest live version');
    assert.equal(oldestVersion, Math.min(...liveNums), 'oldest is the lowest live version');
    assert.ok(oldestVersion <= currentVersion);
  }
  if (liveNums.length > 0) {
    assert.equal(Object.keys(secretMetadataView(r, liveNums[0]).versions).length, nums.length);
  } else {
    assert.throws(() => secretMetadataView(r), NotFoundError);
  }
}

function attemptRead(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    return err instanceof NotFoundError ? 'not found' : err;
  }
}

describe('resolveVersion', () => {
  it('decides once that 0 or absent means the current version', () => {
    assert.equal(resolveVersion(0, 7), 7);
    assert.equal(resolveVersion(undefined, 7), 7);
    assert.equal(resolveVersion(3, 7), 3);
    assert.equal(resolveVersion(9, 7), 9, 'a version above the current one is asked for as is');
    assert.equal(resolveVersion(0, 0), 0, 'no current version: nothing to resolve to');
  });
});
