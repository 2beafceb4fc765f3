/**
 * Custody against three real in-process keepers over SPIFFE mTLS (static sources): recovery,
 * a foreign share in one keeper, restore, and re-seeding a keeper that restarted empty.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WrongRootKeyError,
  computeKeyCheckValue,
  constantTimeEqual,
  createLogger,
  silentLogger,
  splitRootKey,
  verifyKeyCheckValue,
} from '@spike-ts/core';
import {
  createStaticX509Source,
  trustRootsFromEnv,
  type StaticX509Source,
  type X509Bundles,
} from '@spike-ts/identity';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted, type MintedCa } from '@spike-ts/identity/mint';
import { createKeeperServer, type KeeperServer } from '@spike-ts/keeper';
import type { Custody, CustodyDeps } from '../custody-port.ts';
import { createCustodyWith } from './custody.ts';
import { createKeeperClient } from './mtls-keeper-client.ts';

const TD = 'spike.ist';
const ROOTS = trustRootsFromEnv({});
const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 17 + 3) % 256);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 100) % 256);

let ca: MintedCa;
let bundles: X509Bundles;
let nexusSource: StaticX509Source;
const keepers: KeeperServer[] = [];
const urls: string[] = [];
const cleanups: (() => unknown)[] = [];
const custodies: Custody[] = [];

before(async () => {
  ca = await createCa({ trustDomain: TD });
  bundles = bundlesFromCas([ca]);
  const sourceFor = async (id: string) => {
    const s = createStaticX509Source(svidFromMinted(await issueSvid(ca, { spiffeId: id })), bundles);
    cleanups.push(() => s.close());
    return s;
  };
  nexusSource = await sourceFor(`spiffe://${TD}/spike/nexus`);
  for (let i = 0; i < 3; i++) {
    const k = createKeeperServer({
      source: await sourceFor(`spiffe://${TD}/spike/keeper`),
      trustRoots: ROOTS,
      logger: silentLogger,
    });
    urls.push(`https://127.0.0.1:${(await k.listen(0, '127.0.0.1')).port}`);
    keepers.push(k);
  }
});

after(async () => {
  await Promise.all(keepers.map((k) => k.close()));
  for (const c of cleanups.reverse()) await c();
});

afterEach(async () => {
  await Promise.all(custodies.splice(0).map((c) => c.stop()));
  for (const k of keepers) k.holder.clear();
});

function fakeState(storeKey: Uint8Array) {
  const kcv = computeKeyCheckValue(storeKey);
  let rootKey: Uint8Array | undefined;
  const offered: Uint8Array[] = [];
  return {
    offered,
    installed: () => rootKey,
    state: {
      isReady: () => rootKey !== undefined,
      hasRootKey: () => rootKey !== undefined,
      installRootKey(key: Uint8Array) {
        offered.push(Uint8Array.from(key));
        if (!verifyKeyCheckValue(key, kcv)) return Promise.reject(new WrongRootKeyError());
        rootKey = Uint8Array.from(key);
        return Promise.resolve();
      },
      withRootKey<T>(fn: (k: Uint8Array) => T): T {
        if (rootKey === undefined) throw new Error('not ready');
        return fn(rootKey);
      },
    },
  };
}

function start(opts: { heartbeatMs?: number } = {}) {
  const s = fakeState(KEY);
  const records: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    sink: (l) => records.push(JSON.parse(l) as Record<string, unknown>),
  });
  const config = {
    backend: 'sqlite',
    keeperPeers: urls,
    shamirShares: 3,
    shamirThreshold: 2,
    shamirMaxShareCount: 1000,
    keeperUpdateIntervalMs: 600_000,
    keeperHeartbeatIntervalMs: opts.heartbeatMs ?? 600_000,
    trustRoots: ROOTS,
  };
  const deps = { state: s.state, config, source: nexusSource, logger } as unknown as CustodyDeps;
  const custody = createCustodyWith(deps, {
    keeperClient: createKeeperClient({ source: nexusSource, trustRoots: ROOTS, timeoutMs: 3000 }),
    recoveryInitialDelayMs: 10,
    recoveryMaxDelayMs: 50,
  });
  custodies.push(custody);
  return { ...s, records, custody };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

const keeperHolds = (i: number, value: Uint8Array) => {
  const copy = keepers[i]?.holder.copy();
  return copy !== undefined && constantTimeEqual(copy, value);
};

describe('custody with real keepers over mTLS', () => {
  it('recovers the root key from the keepers', async () => {
    splitRootKey(KEY, 2, 3).forEach((s, i) => keepers[i]!.holder.set(s.value));
    const t = start();
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    assert.ok(constantTimeEqual(t.installed()!, KEY));
    assert.equal(t.offered.length, 1);
  });

  it('a foreign share in one keeper is reported, the other combination is used, and the keeper is re-seeded', async () => {
    const good = splitRootKey(KEY, 2, 3);
    good.forEach((s, i) => keepers[i]!.holder.set(s.value));
    keepers[1]!.holder.set(splitRootKey(OTHER_KEY, 2, 3)[1]!.value);
    const t = start();
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    assert.ok(
      t.offered.every((k) => constantTimeEqual(k, KEY)),
      'no wrong key was offered',
    );
    const suspect = t.records.find((r) => /suspect keeper/.test(String(r.msg)));
    assert.equal(suspect?.keeper, 2);
    assert.equal(suspect?.url, urls[1]);
    await waitFor('keeper 2 re-seeded', () => keeperHolds(1, good[1]!.value));
  });

  it('re-seeds a keeper that restarted empty within the heartbeat interval', async () => {
    const good = splitRootKey(KEY, 2, 3);
    good.forEach((s, i) => keepers[i]!.holder.set(s.value));
    const t = start({ heartbeatMs: 100 });
    t.custody.start();
    await waitFor('ready', () => t.state.isReady());
    keepers[2]!.holder.clear();
    await waitFor('keeper 3 re-seeded', () => keeperHolds(2, good[2]!.value), 3000);
  });

  it('operator restore installs the key and seeds empty keepers immediately', async () => {
    const good = splitRootKey(KEY, 2, 3);
    const t = start();
    t.custody.start(); // keepers are empty: recovery keeps waiting
    assert.deepEqual(await t.custody.restoreShard(1, good[0]!.value), {
      collected: 1,
      remaining: 1,
      restored: false,
    });
    assert.deepEqual(await t.custody.restoreShard(3, good[2]!.value), {
      collected: 2,
      remaining: 0,
      restored: true,
    });
    assert.ok(constantTimeEqual(t.installed()!, KEY));
    await waitFor('all keepers seeded', () => good.every((s, i) => keeperHolds(i, s.value)));
  });
});
