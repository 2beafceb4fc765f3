/**
 * The first push after the root key is installed names a keeper that holds a wrong share before
 * overwriting it. Without this, a keeper whose share arrived after recovery had already succeeded
 * (keepers answer in any order) was re-seeded silently: the operator never learned that it had
 * held a foreign or corrupted share. (Found by the foreign-share drill in test/drills.)
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constantTimeEqual, createLogger, splitRootKey } from '@spike-ts/core';
import { KeeperRequestError, type KeeperClient } from './keeper-client.ts';
import { createKeeperSync, SUSPECT_KEEPER_MESSAGE, type KeeperSync } from './keeper-sync.ts';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % 256);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 5 + 91) % 256);
const URLS = ['https://keeper-1:8443', 'https://keeper-2:8443', 'https://keeper-3:8443'];

function setup(held: (Uint8Array | undefined)[], down: ReadonlySet<string> = new Set()) {
  const shards = new Map<string, Uint8Array | undefined>(URLS.map((u, i) => [u, held[i]]));
  const contributions: string[] = [];
  const client: KeeperClient = {
    fetchShard(url) {
      if (down.has(url)) return Promise.reject(new KeeperRequestError(url, 'unreachable'));
      const s = shards.get(url);
      return Promise.resolve(
        s === undefined ? { kind: 'empty' } : { kind: 'shard', shard: Uint8Array.from(s) },
      );
    },
    contribute(url, shard) {
      if (down.has(url)) return Promise.reject(new KeeperRequestError(url, 'unreachable'));
      shards.set(url, Uint8Array.from(shard));
      contributions.push(url);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    sink: (line) => records.push(JSON.parse(line) as Record<string, unknown>),
  });
  const sync = createKeeperSync({
    keeperPeers: URLS,
    threshold: 2,
    shares: 3,
    updateIntervalMs: 600_000,
    heartbeatIntervalMs: 600_000,
    client,
    withRootKey: (fn) => fn(KEY),
    logger,
  });
  syncs.push(sync);
  return { sync, shards, contributions, records };
}

const syncs: KeeperSync[] = [];
afterEach(async () => {
  await Promise.all(syncs.splice(0).map((s) => s.stop()));
});

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('keeper sync: the first push after the key is installed', () => {
  it('names a keeper holding a foreign share as suspect, then re-seeds it', async () => {
    const good = splitRootKey(KEY, 2, 3);
    const foreign = splitRootKey(OTHER_KEY, 2, 3);
    const t = setup([good[0]?.value, good[1]?.value, foreign[2]?.value]);
    t.sync.start();
    await waitFor('every keeper pushed', () => t.contributions.length === 3);
    const suspects = t.records.filter((r) => r.msg === SUSPECT_KEEPER_MESSAGE);
    assert.deepEqual(
      suspects.map((r) => [r.keeper, r.url, r.level]),
      [[3, URLS[2], 'warn']],
    );
    good.forEach((s, i) =>
      assert.ok(constantTimeEqual(t.shards.get(URLS[i] ?? '') ?? new Uint8Array(32), s.value)),
    );
  });

  it('names nobody when every keeper holds its share or none, and still pushes every keeper', async () => {
    const good = splitRootKey(KEY, 2, 3);
    const t = setup([good[0]?.value, undefined, good[2]?.value]);
    t.sync.start();
    await waitFor('every keeper pushed', () => t.contributions.length === 3);
    assert.equal(t.records.filter((r) => /suspect/.test(String(r.msg))).length, 0);
  });

  it('an unreachable keeper is reported unreachable, not suspect, and the others are pushed', async () => {
    const good = splitRootKey(KEY, 2, 3);
    const t = setup([good[0]?.value, good[1]?.value, good[2]?.value], new Set([URLS[1] ?? '']));
    t.sync.start();
    await waitFor('unreachable logged', () => t.records.some((r) => r.msg === 'keeper unreachable'));
    await waitFor('two keepers pushed', () => t.contributions.length === 2);
    assert.equal(t.records.filter((r) => /suspect/.test(String(r.msg))).length, 0);
    assert.equal(t.records.find((r) => r.msg === 'keeper unreachable')?.keeper, 2);
  });
});
