/**
 * Custody logic against in-memory keepers and a state whose installRootKey checks a key-check
 * value like the real store. The same flows over real mTLS keepers are in custody-mtls.test.ts.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WrongRootKeyError,
  computeKeyCheckValue,
  constantTimeEqual,
  createLogger,
  splitRootKey,
  verifyKeyCheckValue,
} from '@spike-ts/core';
import { BadRequestError } from '@spike-ts/protocol';
import type { Custody, CustodyDeps } from '../custody-port.ts';
import { ApiError } from '@spike-ts/protocol';
import { createCustodyWith } from './custody.ts';
import { KeeperRequestError, type KeeperClient } from './keeper-client.ts';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 11 + 5) % 256);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 3 + 77) % 256);
const URLS = ['https://keeper-1:8443', 'https://keeper-2:8443', 'https://keeper-3:8443'];
const sharesOf = (key: Uint8Array, t = 2, n = 3) => splitRootKey(key, t, n);

interface FakeKeeper {
  shard: Uint8Array | undefined;
  up: boolean;
  contributions: number;
  reads: number;
}

function fakeKeepers(urls: readonly string[]) {
  const keepers = new Map<string, FakeKeeper>(
    urls.map((u) => [u, { shard: undefined, up: true, contributions: 0, reads: 0 }]),
  );
  const get = (url: string): FakeKeeper => {
    const k = keepers.get(url);
    if (k === undefined) throw new Error(`unknown keeper ${url}`);
    return k;
  };
  const client: KeeperClient = {
    fetchShard(url) {
      const k = get(url);
      k.reads++;
      if (!k.up) return Promise.reject(new KeeperRequestError(url, 'unreachable'));
      return Promise.resolve(
        k.shard === undefined ? { kind: 'empty' } : { kind: 'shard', shard: Uint8Array.from(k.shard) },
      );
    },
    contribute(url, shard) {
      const k = get(url);
      if (!k.up) return Promise.reject(new KeeperRequestError(url, 'unreachable'));
      k.shard = Uint8Array.from(shard);
      k.contributions++;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const seed = (key: Uint8Array) => sharesOf(key).forEach((s, i) => (get(URLS[i]!).shard = s.value));
  return { keepers, client, get, seed };
}

/** A state that, like the real store, refuses a key whose key-check value does not match. */
function fakeState(storeKey: Uint8Array | undefined) {
  let kcv = storeKey === undefined ? undefined : computeKeyCheckValue(storeKey);
  let rootKey: Uint8Array | undefined;
  const attempts: Uint8Array[] = [];
  const state = {
    isReady: () => rootKey !== undefined,
    hasRootKey: () => rootKey !== undefined,
    installRootKey(key: Uint8Array) {
      attempts.push(Uint8Array.from(key));
      if (rootKey !== undefined) return Promise.reject(new Error('already installed'));
      if (kcv !== undefined && !verifyKeyCheckValue(key, kcv)) return Promise.reject(new WrongRootKeyError());
      kcv ??= computeKeyCheckValue(key);
      rootKey = Uint8Array.from(key);
      return Promise.resolve();
    },
    withRootKey<T>(fn: (rootKey: Uint8Array) => T): T {
      if (rootKey === undefined) throw new Error('not ready');
      return fn(rootKey);
    },
  };
  /** A rotation elsewhere: the store now has `key`, and Nexus drops the one it held. */
  const replaceStoreKey = (key: Uint8Array): void => {
    kcv = computeKeyCheckValue(key);
    rootKey?.fill(0);
    rootKey = undefined;
  };
  return { state, attempts, installed: () => rootKey, replaceStoreKey };
}

function capture() {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    sink: (line) => records.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, records };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const custodies: Custody[] = [];
afterEach(async () => {
  await Promise.all(custodies.splice(0).map((c) => c.stop()));
});

function setup(
  opts: { storeKey?: Uint8Array; heartbeatMs?: number; updateMs?: number; backend?: string } = {},
) {
  const k = fakeKeepers(URLS);
  const s = fakeState('storeKey' in opts ? opts.storeKey : KEY);
  const log = capture();
  const config = {
    backend: opts.backend ?? 'sqlite',
    keeperPeers: URLS,
    shamirShares: 3,
    shamirThreshold: 2,
    shamirMaxShareCount: 1000,
    keeperUpdateIntervalMs: opts.updateMs ?? 600_000,
    keeperHeartbeatIntervalMs: opts.heartbeatMs ?? 600_000,
    trustRoots: {},
  };
  const deps = { state: s.state, config, source: {}, logger: log.logger } as unknown as CustodyDeps;
  const custody = createCustodyWith(deps, {
    keeperClient: k.client,
    recoveryInitialDelayMs: 5,
    recoveryMaxDelayMs: 20,
  });
  custodies.push(custody);
  return { ...k, ...s, ...log, custody };
}

const sameKey = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && constantTimeEqual(a, b);

describe('custody: recovery from keepers', () => {
  it('recovers the root key from the keepers and pushes shares right away', async () => {
    const t = setup();
    t.seed(KEY);
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    assert.ok(sameKey(t.installed(), KEY));
    assert.equal(t.attempts.length, 1);
    await waitFor('push', () => [...t.keepers.values()].every((k) => k.contributions >= 1));
  });

  it('keeps polling until enough keepers hold shares', async () => {
    const t = setup();
    t.custody.start();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(t.state.isReady(), false);
    const shares = sharesOf(KEY);
    t.get(URLS[2]!).shard = shares[2]!.value;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(t.state.isReady(), false, 'one share is not enough');
    t.get(URLS[0]!).shard = shares[0]!.value;
    await waitFor('ready', () => t.state.isReady());
    assert.ok(sameKey(t.installed(), KEY));
  });

  it('a foreign share in one keeper: logs it as suspect, uses the other combination, never installs a wrong key', async () => {
    const t = setup();
    t.seed(KEY);
    t.get(URLS[0]!).shard = sharesOf(OTHER_KEY)[0]!.value; // keeper 1 holds a share of another key
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    assert.ok(sameKey(t.installed(), KEY));
    // the consistent key is found first: no wrong key was even offered to the store
    assert.equal(t.attempts.length, 1);
    const suspect = t.records.find((r) => /suspect keeper/.test(String(r.msg)));
    assert.ok(suspect, 'suspect logged');
    assert.equal(suspect.keeper, 1);
    assert.equal(suspect.url, URLS[0]);
    // the suspect keeper is re-seeded with its correct share
    await waitFor('re-seed', () =>
      constantTimeEqual(t.get(URLS[0]!).shard ?? new Uint8Array(32), sharesOf(KEY)[0]!.value),
    );
  });

  it('with only a bad combination available it stays not ready, then recovers when a good share appears', async () => {
    const t = setup();
    const good = sharesOf(KEY);
    t.get(URLS[0]!).shard = sharesOf(OTHER_KEY)[0]!.value;
    t.get(URLS[1]!).shard = good[1]!.value;
    t.get(URLS[2]!).up = false;
    t.custody.start();
    const failures = () =>
      t.records.filter((r) => r.level === 'error' && /no combination/.test(String(r.msg)));
    await waitFor('a failed recovery', () => failures().length >= 1);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(t.state.isReady(), false);
    // the mixed pair is not a consistent share set: no key was even offered to the store
    assert.equal(t.attempts.length, 0);
    assert.equal(failures().length, 1, 'the same failing combination is not retried');
    t.get(URLS[2]!).up = true;
    t.get(URLS[2]!).shard = good[2]!.value;
    await waitFor('ready', () => t.state.isReady());
    assert.ok(sameKey(t.installed(), KEY));
    const suspect = t.records.find((r) => /suspect keeper/.test(String(r.msg)));
    assert.equal(suspect?.keeper, 1);
  });

  it('never installs a key whose key-check fails even when all keepers agree on it', async () => {
    const t = setup({ storeKey: KEY });
    t.seed(OTHER_KEY);
    t.custody.start();
    await waitFor('attempts', () => t.attempts.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.state.isReady(), false);
    assert.equal(t.installed(), undefined);
  });

  it('after Nexus dropped its key, start() recovers the key the keepers hold now; keeper sync waits meanwhile', async () => {
    const t = setup({ heartbeatMs: 20, updateMs: 20 });
    t.seed(KEY);
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    await waitFor('first push', () => [...t.keepers.values()].every((k) => k.contributions >= 1));
    // A rotation elsewhere retired KEY: the store has OTHER_KEY, the keepers hold its shares.
    t.replaceStoreKey(OTHER_KEY);
    t.seed(OTHER_KEY);
    const contributions = [...t.keepers.values()].map((k) => k.contributions);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      [...t.keepers.values()].map((k) => k.contributions),
      contributions,
      'without a key, no push and no re-seeding (the keepers keep the new shares)',
    );
    assert.ok(!t.records.some((r) => r.level === 'error'), 'and nothing logged as failed');
    sharesOf(OTHER_KEY).forEach((s, i) => assert.ok(sameKey(t.get(URLS[i]!).shard, s.value)));

    t.custody.start();
    await waitFor('ready again', () => t.state.isReady());
    assert.ok(sameKey(t.installed(), OTHER_KEY));
    // Keeper sync resumes with the new key's shares.
    const now = [...t.keepers.values()].map((k) => k.contributions);
    await waitFor('pushes again', () => [...t.keepers.values()].every((k, i) => k.contributions > now[i]!));
    sharesOf(OTHER_KEY).forEach((s, i) => assert.ok(sameKey(t.get(URLS[i]!).shard, s.value)));
  });

  it("follows the store before it overwrites a keeper's other share, and overwrites nothing once its key is gone", async () => {
    const t = setup({ heartbeatMs: 20 });
    let follows = 0;
    // What the rotation service does for a Nexus that slept through a rotation elsewhere.
    t.custody.followKeyWith?.(() => {
      follows++;
      t.replaceStoreKey(OTHER_KEY);
      return Promise.resolve();
    });
    t.seed(KEY);
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    await waitFor('first push', () => [...t.keepers.values()].every((k) => k.contributions >= 1));
    const contributions = [...t.keepers.values()].map((k) => k.contributions);
    t.seed(OTHER_KEY); // the other Nexus pushed the new key's shares
    await waitFor('the store followed', () => follows > 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      [...t.keepers.values()].map((k) => k.contributions),
      contributions,
      'no keeper was given a share of the retired key',
    );
    sharesOf(OTHER_KEY).forEach((s, i) => assert.ok(sameKey(t.get(URLS[i]!).shard, s.value)));
    assert.equal(follows, 1, 'followed once; without a key the heartbeats wait');
  });

  it('the timed push follows the store first, and pushes nothing once its key is gone', async () => {
    const t = setup({ updateMs: 20 });
    let follows = 0;
    t.custody.followKeyWith?.(() => {
      follows++;
      if (follows === 3) t.replaceStoreKey(OTHER_KEY);
      return Promise.resolve();
    });
    t.seed(KEY);
    t.custody.start();
    await waitFor(
      'two timed pushes',
      () => follows >= 2 && [...t.keepers.values()].every((k) => k.contributions >= 2),
    );
    t.seed(OTHER_KEY);
    await waitFor('the third look at the store', () => follows >= 3);
    const contributions = [...t.keepers.values()].map((k) => k.contributions);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      [...t.keepers.values()].map((k) => k.contributions),
      contributions,
      'no push of the retired key',
    );
    sharesOf(OTHER_KEY).forEach((s, i) => assert.ok(sameKey(t.get(URLS[i]!).shard, s.value)));
  });

  it('does nothing for the memory backend', async () => {
    const t = setup({ backend: 'memory' });
    t.seed(KEY);
    t.custody.start();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(t.attempts.length, 0);
  });

  it('stop() ends a recovery that can never succeed', async () => {
    const t = setup();
    t.custody.start();
    const totalReads = () => [...t.keepers.values()].reduce((n, k) => n + k.reads, 0);
    await waitFor('several polling rounds', () => totalReads() >= 6);
    await t.custody.stop();
    const reads = totalReads();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(totalReads(), reads);
    assert.equal(t.state.isReady(), false);
  });
});

describe('custody: keeper re-seeding', () => {
  it('re-seeds a keeper that came back empty within the heartbeat interval, and one holding a wrong share', async () => {
    const t = setup({ heartbeatMs: 40 });
    t.seed(KEY);
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    const expected = sharesOf(KEY);
    t.get(URLS[1]!).shard = undefined; // keeper 2 restarted
    await waitFor('keeper 2 re-seeded', () => sameKey(t.get(URLS[1]!).shard, expected[1]!.value), 2000);
    t.get(URLS[2]!).shard = new Uint8Array(32).fill(3); // keeper 3 overwritten with garbage
    await waitFor('keeper 3 re-seeded', () => sameKey(t.get(URLS[2]!).shard, expected[2]!.value), 2000);
    assert.ok(t.records.some((r) => /no share/.test(String(r.msg)) && r.keeper === 2));
    assert.ok(t.records.some((r) => /wrong share/.test(String(r.msg)) && r.keeper === 3));
  });

  it('pushes every keeper its share every update interval', async () => {
    const t = setup({ updateMs: 30 });
    t.seed(KEY);
    t.custody.start();
    await waitFor('several pushes', () => [...t.keepers.values()].every((k) => k.contributions >= 3), 3000);
  });

  it('keeps going while a keeper is down, and re-seeds it when it returns', async () => {
    const t = setup({ heartbeatMs: 30 });
    t.seed(KEY);
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    t.get(URLS[0]!).up = false;
    t.get(URLS[0]!).shard = undefined;
    await new Promise((r) => setTimeout(r, 80));
    assert.ok(t.records.some((r) => /keeper unreachable/.test(String(r.msg)) && r.keeper === 1));
    t.get(URLS[0]!).up = true;
    await waitFor('keeper 1 re-seeded', () => sameKey(t.get(URLS[0]!).shard, sharesOf(KEY)[0]!.value), 2000);
  });
});

describe('custody: operator recover and restore', () => {
  it('recoverShards returns all shares of the root key as SPIKE JSON', async () => {
    const t = setup();
    t.seed(KEY);
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    const out = t.custody.recoverShards();
    assert.deepEqual(Object.keys(out), ['1', '2', '3']);
    sharesOf(KEY).forEach((s) => assert.deepEqual(out[String(s.id)], [...s.value]));
  });

  it('recoverShards answers state_not_ready while Nexus has no root key', () => {
    const t = setup();
    assert.throws(
      () => t.custody.recoverShards(),
      (err: unknown) => err instanceof ApiError && err.code === 'state_not_ready',
    );
  });

  it('restores from good shares, counting, ignoring duplicates, and re-seeds the keepers', async () => {
    const t = setup();
    const s = sharesOf(KEY);
    assert.deepEqual(await t.custody.restoreShard(3, s[2]!.value), {
      collected: 1,
      remaining: 1,
      restored: false,
    });
    assert.deepEqual(await t.custody.restoreShard(3, s[2]!.value), {
      collected: 1,
      remaining: 1,
      restored: false,
    });
    assert.equal(t.state.isReady(), false);
    assert.deepEqual(await t.custody.restoreShard(1, s[0]!.value), {
      collected: 2,
      remaining: 0,
      restored: true,
    });
    assert.ok(sameKey(t.installed(), KEY));
    await waitFor('keepers re-seeded', () => URLS.every((u, i) => sameKey(t.get(u).shard, s[i]!.value)));
    assert.deepEqual(await t.custody.restoreShard(2, s[1]!.value), {
      collected: 2,
      remaining: 0,
      restored: true,
    });
    assert.equal(t.attempts.length, 1);
  });

  it('keeps a shard that does not fit, stays not ready, and completes once the right one replaces it', async () => {
    const t = setup();
    const s = sharesOf(KEY);
    await t.custody.restoreShard(1, s[0]!.value);
    const foreign = sharesOf(OTHER_KEY)[1]!.value;
    await assert.rejects(t.custody.restoreShard(2, foreign), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.detail, /no 2 of the 2 shard\(s\)/);
      assert.match(err.detail, /not all shares of one root key/);
      assert.match(err.detail, /kept/);
      return true;
    });
    assert.equal(t.state.isReady(), false);
    assert.equal(t.installed(), undefined);
    // the right shard for index 2 replaces the foreign one and completes the restore
    assert.deepEqual(await t.custody.restoreShard(2, s[1]!.value), {
      collected: 2,
      remaining: 0,
      restored: true,
    });
    assert.ok(sameKey(t.installed(), KEY));
  });

  it('a wrong first shard does not block the restore: the right ones complete it as they arrive', async () => {
    const t = setup();
    const s = sharesOf(KEY);
    const foreign = sharesOf(OTHER_KEY)[0]!.value;
    assert.deepEqual(await t.custody.restoreShard(1, foreign), {
      collected: 1,
      remaining: 1,
      restored: false,
    });
    await assert.rejects(t.custody.restoreShard(2, s[1]!.value), BadRequestError);
    assert.equal(t.state.isReady(), false);
    assert.deepEqual(await t.custody.restoreShard(3, s[2]!.value), {
      collected: 3,
      remaining: 0,
      restored: true,
    });
    assert.ok(sameKey(t.installed(), KEY));
    await waitFor('keepers re-seeded', () => URLS.every((u, i) => sameKey(t.get(u).shard, s[i]!.value)));
  });

  it('rejects a consistent share set of another root key (key-check) and never installs it', async () => {
    const t = setup({ storeKey: KEY });
    const other = sharesOf(OTHER_KEY);
    assert.deepEqual(await t.custody.restoreShard(1, other[0]!.value), {
      collected: 1,
      remaining: 1,
      restored: false,
    });
    await assert.rejects(t.custody.restoreShard(2, other[1]!.value), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.detail, /key-check failed/);
      return true;
    });
    assert.equal(t.attempts.length, 1);
    assert.equal(t.installed(), undefined);
    assert.equal(t.state.isReady(), false);
  });

  it('rejects bad ids and shards with BadRequestError and keeps nothing', async () => {
    const t = setup();
    const good = sharesOf(KEY)[0]!.value;
    const bad: [number, Uint8Array][] = [
      [0, good],
      [-1, good],
      [1.5, good],
      [1001, good],
      [Number.NaN, good],
      [1, new Uint8Array(32)],
      [1, new Uint8Array(31).fill(1)],
      [1, new Uint8Array(33).fill(1)],
      [1, new Uint8Array(32).fill(0xff)], // not below the group order
    ];
    for (const [id, shard] of bad) {
      await assert.rejects(t.custody.restoreShard(id, shard), BadRequestError, `id ${id}`);
    }
    assert.deepEqual(await t.custody.restoreShard(1000, good), {
      collected: 1,
      remaining: 1,
      restored: false,
    });
  });
});
