/**
 * The bootstrap ceremony against an in-memory fake system (keepers + a Nexus that recovers from
 * them and answers the verify route for real). The mTLS end-to-end run is in
 * bootstrap-mtls.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { aesGcmDecrypt, combineShares, constantTimeEqual, type Share } from '@spike-ts/core';
import type { TrustRoots } from '@spike-ts/identity';
import { runBootstrap } from './bootstrap.ts';
import type { BootstrapConfig } from './config.ts';
import {
  BootstrapRefusedError,
  EXIT_KEEPER_UNREACHABLE,
  EXIT_REFUSED,
  EXIT_VERIFICATION_FAILED,
  KeeperUnreachableError,
  VerificationError,
} from './errors.ts';
import type { Post, PostResult } from './transport.ts';

interface FakeKeeper {
  shard: Uint8Array | undefined;
  up: boolean;
  supportsStatus: boolean;
  contributions: number;
}

function makeConfig(n: number, t: number, extra: Partial<BootstrapConfig> = {}): BootstrapConfig {
  return {
    keeperPeers: Array.from({ length: n }, (_, i) => `https://keeper-${i + 1}:8443`),
    shares: n,
    threshold: t,
    nexusApiUrl: 'https://nexus:8553',
    keeperMaxRetries: 3,
    keeperRetryInitialMs: 1,
    keeperRetryMaxMs: 2,
    keeperTimeoutMs: 1000,
    verificationTimeoutMs: 2000,
    timeoutMs: 0,
    force: false,
    backendStore: 'sqlite',
    trustRoots: {} as TrustRoots,
    logLevel: 'warn',
    ...extra,
  };
}

const answer = (status: number, body: unknown): PostResult => ({
  status,
  body: Buffer.from(JSON.stringify(body)),
});

function fakeSystem(config: BootstrapConfig) {
  const keepers = new Map<string, FakeKeeper>(
    config.keeperPeers.map((url) => [
      url,
      { shard: undefined, up: true, supportsStatus: true, contributions: 0 },
    ]),
  );
  const nexus = {
    up: true,
    rootKey: undefined as Uint8Array | undefined,
    /** When set, Nexus answers verify with this hash instead of the real one. */
    lieHash: undefined as string | undefined,
    verifyCalls: 0,
  };
  const postKeeper: Post = (url, body) => {
    const base = [...keepers.keys()].find((k) => url.startsWith(k));
    const keeper = base === undefined ? undefined : keepers.get(base);
    if (keeper === undefined || !keeper.up) return Promise.reject(new Error('connect ECONNREFUSED'));
    const path = url.slice(base?.length ?? 0);
    if (path === '/v1/keeper/status') {
      return Promise.resolve(
        keeper.supportsStatus
          ? answer(200, { hasShard: keeper.shard !== undefined })
          : answer(400, { err: 'api_bad_request' }),
      );
    }
    if (path === '/v1/store/contribute') {
      const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as { shard: number[] };
      keeper.shard = Uint8Array.from(parsed.shard);
      keeper.contributions++;
      return Promise.resolve(answer(200, {}));
    }
    return Promise.resolve(answer(400, { err: 'api_bad_request' }));
  };
  const postNexus: Post = (url, body) => {
    if (!nexus.up) return Promise.reject(new Error('connect ECONNREFUSED'));
    assert.equal(url, 'https://nexus:8553/v1/bootstrap/verify');
    nexus.verifyCalls++;
    if (nexus.rootKey === undefined) {
      // what custody does: recover from the keepers once enough hold a share
      const shares: Share[] = [];
      config.keeperPeers.forEach((k, i) => {
        const s = keepers.get(k)?.shard;
        if (s !== undefined) shares.push({ id: i + 1, value: s });
      });
      if (shares.length < config.threshold) return Promise.resolve(answer(503, { err: 'state_not_ready' }));
      nexus.rootKey = combineShares(shares.slice(0, config.threshold), config.threshold);
    }
    const req = JSON.parse(Buffer.from(body).toString('utf8')) as { nonce: string; ciphertext: string };
    try {
      const plain = aesGcmDecrypt(
        nexus.rootKey,
        Buffer.from(req.nonce, 'base64'),
        Buffer.from(req.ciphertext, 'base64'),
      );
      const hash = nexus.lieHash ?? createHash('sha256').update(plain).digest('hex');
      return Promise.resolve(answer(200, { hash }));
    } catch {
      return Promise.resolve(answer(500, { err: 'api_internal_error' }));
    }
  };
  return { keepers, nexus, transport: { postKeeper, postNexus } };
}

function run(config: BootstrapConfig, system: ReturnType<typeof fakeSystem>, key?: Uint8Array) {
  const lines: string[] = [];
  let generated: Uint8Array | undefined;
  const promise = runBootstrap(config, {
    transport: system.transport,
    progress: (l) => lines.push(l),
    ...(key === undefined
      ? {}
      : {
          generateRootKey: () => {
            generated = Uint8Array.from(key);
            return generated;
          },
        }),
  });
  return { promise, lines, generatedKey: () => generated };
}

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

describe('bootstrap ceremony', () => {
  it('hands keeper i share i, and Nexus proves it holds the key', async () => {
    const config = makeConfig(3, 2);
    const system = fakeSystem(config);
    const r = run(config, system, KEY);
    assert.equal(await r.promise, 'bootstrapped');
    // any 2 keeper shares recover the generated key; keeper i holds share i
    const held = config.keeperPeers.map((k, i) => ({
      id: i + 1,
      value: system.keepers.get(k)?.shard ?? new Uint8Array(),
    }));
    for (const pair of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const key = combineShares(
        pair.map((i) => held[i]!),
        2,
      );
      assert.ok(constantTimeEqual(key, KEY), `shares ${pair.join('+')}`);
    }
    assert.ok(system.nexus.rootKey && constantTimeEqual(system.nexus.rootKey, KEY));
    assert.ok(r.lines.some((l) => /Bootstrap complete/.test(l)));
    // the root key buffer was zeroed after use
    assert.deepEqual([...(r.generatedKey() ?? [1])], new Array(32).fill(0));
  });

  it('refuses when Nexus already holds a root key, touching no keeper', async () => {
    const config = makeConfig(3, 2);
    const system = fakeSystem(config);
    system.nexus.rootKey = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
    const r = run(config, system);
    await assert.rejects(r.promise, (err: unknown) => {
      assert.ok(err instanceof BootstrapRefusedError);
      assert.equal(err.exitCode, EXIT_REFUSED);
      assert.match(err.message, /already initialized/);
      assert.match(err.message, /--force/);
      return true;
    });
    for (const k of system.keepers.values()) assert.equal(k.contributions, 0);
  });

  it('refuses when a keeper already holds a share', async () => {
    const config = makeConfig(3, 2);
    const system = fakeSystem(config);
    system.keepers.get('https://keeper-2:8443')!.shard = new Uint8Array(32).fill(5);
    system.nexus.up = false; // e.g. Nexus crashed: the keepers hold the only copy of the key
    await assert.rejects(run(config, system).promise, (err: unknown) => {
      assert.ok(err instanceof BootstrapRefusedError);
      assert.match(err.message, /keeper-2.*already hold a share/);
      return true;
    });
    assert.deepEqual([...system.keepers.get('https://keeper-2:8443')!.shard!], new Array(32).fill(5));
    for (const k of system.keepers.values()) assert.equal(k.contributions, 0);
  });

  it('--force replaces the key of a live system', async () => {
    const config = makeConfig(3, 2, { force: true });
    const system = fakeSystem(config);
    for (const k of system.keepers.values()) k.shard = new Uint8Array(32).fill(9);
    const r = run(config, system, KEY);
    assert.equal(await r.promise, 'bootstrapped');
    assert.ok(r.lines.some((l) => /WARNING.*--force/.test(l)));
    for (const k of system.keepers.values()) assert.equal(k.contributions, 1);
  });

  it('proceeds with a warning when keepers cannot say whether they hold a share (SPIKE keepers)', async () => {
    const config = makeConfig(3, 2);
    const system = fakeSystem(config);
    for (const k of system.keepers.values()) k.supportsStatus = false;
    const r = run(config, system, KEY);
    assert.equal(await r.promise, 'bootstrapped');
    assert.ok(r.lines.some((l) => /cannot tell whether it holds a share/.test(l)));
  });

  it('fails clearly, before touching any keeper, when a keeper is unreachable', async () => {
    const config = makeConfig(3, 2);
    const system = fakeSystem(config);
    system.keepers.get('https://keeper-3:8443')!.up = false;
    await assert.rejects(run(config, system).promise, (err: unknown) => {
      assert.ok(err instanceof KeeperUnreachableError);
      assert.equal(err.exitCode, EXIT_KEEPER_UNREACHABLE);
      assert.deepEqual(err.keepers, ['https://keeper-3:8443']);
      assert.match(err.message, /keeper-3.*unreachable.*no keeper was changed/);
      return true;
    });
    for (const k of system.keepers.values()) assert.equal(k.contributions, 0);
  });

  it('fails with exit code 5 when Nexus answers the wrong hash', async () => {
    const config = makeConfig(3, 2);
    const system = fakeSystem(config);
    system.nexus.lieHash = 'a'.repeat(64);
    await assert.rejects(run(config, system, KEY).promise, (err: unknown) => {
      assert.ok(err instanceof VerificationError);
      assert.equal(err.exitCode, EXIT_VERIFICATION_FAILED);
      assert.match(err.message, /wrong hash/);
      return true;
    });
  });

  it('fails with exit code 5 when Nexus does not get ready in time', async () => {
    const config = makeConfig(3, 2, { verificationTimeoutMs: 300, force: true });
    const system = fakeSystem(config);
    system.transport = {
      ...system.transport,
      postNexus: () => Promise.resolve(answer(503, { err: 'state_not_ready' })),
    };
    await assert.rejects(run(config, system, KEY).promise, (err: unknown) => {
      assert.ok(err instanceof VerificationError);
      assert.match(err.message, /SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT/);
      return true;
    });
  });

  it('has nothing to do for a memory backend', async () => {
    const config = makeConfig(0, 1, { keeperPeers: [], shares: 1, backendStore: 'memory' });
    const system = fakeSystem(config);
    assert.equal(await run(config, system).promise, 'skipped');
    assert.equal(system.nexus.verifyCalls, 0);
  });
});

describe('bootstrap with several Nexus URLs (replicas on one database)', () => {
  const REPLICA = 'https://nexus-replica:8553';
  /** The fake system's Nexus at nexus:8553 plus a replica whose answers the test picks. */
  function withReplica(system: ReturnType<typeof fakeSystem>, replica: () => Promise<PostResult>) {
    const calls: string[] = [];
    const postNexus: Post = (url, body, timeoutMs) => {
      calls.push(url);
      return url.startsWith(REPLICA) ? replica() : system.transport.postNexus(url, body, timeoutMs);
    };
    return { calls, system: { ...system, transport: { ...system.transport, postNexus } } };
  }

  it('asks every replica in the live-system check and takes the proof from one that answers', async () => {
    const config = makeConfig(3, 2, { nexusApiUrls: [REPLICA, 'https://nexus:8553'] });
    const base = fakeSystem(config);
    const { calls, system } = withReplica(base, () => Promise.reject(new Error('connect ECONNREFUSED')));
    const r = run(config, system, KEY);
    assert.equal(await r.promise, 'bootstrapped');
    assert.ok(base.nexus.rootKey && constantTimeEqual(base.nexus.rootKey, KEY));
    assert.ok(calls.some((u) => u.startsWith(REPLICA)));
    assert.ok(r.lines.some((l) => l.includes(`Nexus ${REPLICA} is not reachable`)));
    assert.ok(r.lines.some((l) => l.includes('Nexus https://nexus:8553 has no root key yet')));
  });

  it('refuses when any replica already holds a root key, naming it', async () => {
    const config = makeConfig(3, 2, { nexusApiUrls: ['https://nexus:8553', REPLICA] });
    const base = fakeSystem(config);
    const { system } = withReplica(base, () => Promise.resolve(answer(500, { err: 'api_internal_error' })));
    const r = run(config, system, KEY);
    await assert.rejects(r.promise, (err: unknown) => {
      assert.ok(err instanceof BootstrapRefusedError);
      assert.match(err.message, new RegExp(`SPIKE Nexus at ${REPLICA} is already initialized`));
      return true;
    });
    for (const k of base.keepers.values()) assert.equal(k.contributions, 0);
  });
});
