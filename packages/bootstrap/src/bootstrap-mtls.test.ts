/**
 * Bootstrap over real SPIFFE mTLS against three in-process keepers and a Nexus verify endpoint
 * (a stand-in that recovers the key from the keepers the way custody does and answers
 * `/v1/bootstrap/verify` in SPIKE's format).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { aesGcmDecrypt, combineShares, constantTimeEqual, silentLogger, type Share } from '@spike-ts/core';
import {
  createMtlsServer,
  createStaticX509Source,
  getPeerSpiffeId,
  isBootstrap,
  trustRootsFromEnv,
  type StaticX509Source,
  type X509Bundles,
} from '@spike-ts/identity';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted, type MintedCa } from '@spike-ts/identity/mint';
import { createKeeperServer, type KeeperServer } from '@spike-ts/keeper';
import { runBootstrap } from './bootstrap.ts';
import { loadBootstrapConfig } from './config.ts';
import {
  BootstrapRefusedError,
  EXIT_REFUSED,
  EXIT_VERIFICATION_FAILED,
  KeeperUnreachableError,
  VerificationError,
} from './errors.ts';
import { createMtlsTransport } from './mtls-transport.ts';

const TD = 'spike.ist';
const ROOTS = trustRootsFromEnv({});

let ca: MintedCa;
let bundles: X509Bundles;
let bootstrapSource: StaticX509Source;
const keepers: KeeperServer[] = [];
const keeperUrls: string[] = [];
let nexusServer: Server;
let nexusUrl = '';
/** The stand-in Nexus: its root key, or undefined while not initialized. */
const nexus = { rootKey: undefined as Uint8Array | undefined, verifies: 0 };
const cleanups: (() => unknown)[] = [];

async function sourceFor(id: string): Promise<StaticX509Source> {
  const s = createStaticX509Source(svidFromMinted(await issueSvid(ca, { spiffeId: id })), bundles);
  cleanups.push(() => s.close());
  return s;
}

function recoverFromKeepers(): Uint8Array | undefined {
  const shares: Share[] = [];
  keepers.forEach((k, i) => {
    const value = k.holder.copy();
    if (value !== undefined) shares.push({ id: i + 1, value });
  });
  return shares.length >= 2 ? combineShares(shares.slice(0, 2), 2) : undefined;
}

before(async () => {
  ca = await createCa({ trustDomain: TD });
  bundles = bundlesFromCas([ca]);
  bootstrapSource = await sourceFor(`spiffe://${TD}/spike/bootstrap`);
  for (let i = 0; i < 3; i++) {
    const k = createKeeperServer({
      source: await sourceFor(`spiffe://${TD}/spike/keeper`),
      trustRoots: ROOTS,
      logger: silentLogger,
    });
    const addr = await k.listen(0, '127.0.0.1');
    keepers.push(k);
    keeperUrls.push(`https://127.0.0.1:${addr.port}`);
  }
  const nexusSource = await sourceFor(`spiffe://${TD}/spike/nexus`);
  nexusServer = createMtlsServer(nexusSource, {}, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const peer = getPeerSpiffeId(req);
      if (req.url !== '/v1/bootstrap/verify' || req.method !== 'POST')
        return reply(400, { err: 'api_bad_request' });
      if (peer === undefined || !isBootstrap(peer, ROOTS)) return reply(401, { err: 'access_unauthorized' });
      nexus.verifies++;
      nexus.rootKey ??= recoverFromKeepers();
      if (nexus.rootKey === undefined) return reply(503, { err: 'state_not_ready' });
      const { nonce, ciphertext } = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, string>;
      try {
        const plain = aesGcmDecrypt(
          nexus.rootKey,
          Buffer.from(nonce ?? '', 'base64'),
          Buffer.from(ciphertext ?? '', 'base64'),
        );
        return reply(200, { hash: createHash('sha256').update(plain).digest('hex') });
      } catch {
        return reply(500, { err: 'api_internal_error' });
      }
    });
  });
  await new Promise<void>((resolve) => nexusServer.listen(0, '127.0.0.1', resolve));
  nexusUrl = `https://127.0.0.1:${(nexusServer.address() as AddressInfo).port}`;
});

after(async () => {
  await Promise.all(keepers.map((k) => k.close()));
  await new Promise<void>((resolve) => {
    nexusServer.close(() => resolve());
    nexusServer.closeAllConnections();
  });
  for (const c of cleanups.reverse()) await c();
});

beforeEach(() => {
  for (const k of keepers) k.holder.clear();
  nexus.rootKey = undefined;
  nexus.verifies = 0;
});

function env(extra: Record<string, string> = {}, peers: string[] = keeperUrls): Record<string, string> {
  return {
    SPIKE_NEXUS_KEEPER_PEERS: peers.join(','),
    SPIKE_NEXUS_API_URL: nexusUrl,
    SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '2',
    SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL: '10ms',
    SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL: '20ms',
    SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: '2s',
    SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT: '5s',
    ...extra,
  };
}

async function bootstrap(e: Record<string, string>, force = false) {
  const config = loadBootstrapConfig(e, { force });
  const transport = createMtlsTransport(bootstrapSource, config.trustRoots);
  const lines: string[] = [];
  try {
    return { outcome: await runBootstrap(config, { transport, progress: (l) => lines.push(l) }), lines };
  } finally {
    await transport.close();
  }
}

const held = (): Share[] =>
  keepers.map((k, i) => ({ id: i + 1, value: k.holder.copy() ?? new Uint8Array(32) }));

describe('bootstrap over mTLS', () => {
  it('bootstraps three keepers and Nexus proves it holds the key', async () => {
    const { outcome, lines } = await bootstrap(env());
    assert.equal(outcome, 'bootstrapped');
    assert.ok(nexus.rootKey);
    const shares = held();
    for (const pair of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const key = combineShares(
        pair.map((i) => shares[i]!),
        2,
      );
      assert.ok(constantTimeEqual(key, nexus.rootKey), `keepers ${pair.map((i) => i + 1).join('+')}`);
    }
    assert.ok(lines.some((l) => /Bootstrap complete/.test(l)));
  });

  it('refuses when Nexus is already initialized, and leaves the keepers alone', async () => {
    await bootstrap(env());
    const before = held();
    await assert.rejects(bootstrap(env()), (err: unknown) => {
      assert.ok(err instanceof BootstrapRefusedError);
      assert.equal(err.exitCode, EXIT_REFUSED);
      assert.match(err.message, /already initialized/);
      return true;
    });
    held().forEach((s, i) => assert.ok(constantTimeEqual(s.value, before[i]!.value)));
  });

  it('refuses when a keeper already holds a share (Nexus not initialized)', async () => {
    keepers[1]!.holder.set(new Uint8Array(32).fill(7));
    await assert.rejects(bootstrap(env()), BootstrapRefusedError);
    assert.equal(keepers[0]!.holder.hasShard(), false);
  });

  it('with --force it goes ahead: fine for keepers with stale shares', async () => {
    for (const k of keepers) k.holder.set(new Uint8Array(32).fill(7));
    const { outcome } = await bootstrap(env(), true);
    assert.equal(outcome, 'bootstrapped');
  });

  it('with SPIKE_BOOTSTRAP_FORCE=true against a live Nexus: keepers are overwritten and verification fails loudly', async () => {
    nexus.rootKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    await assert.rejects(bootstrap(env({ SPIKE_BOOTSTRAP_FORCE: 'true' })), (err: unknown) => {
      assert.ok(err instanceof VerificationError);
      assert.equal(err.exitCode, EXIT_VERIFICATION_FAILED);
      assert.match(err.message, /different root key/);
      return true;
    });
    assert.ok(keepers.every((k) => k.holder.hasShard()));
  });

  it('fails clearly when a keeper is unreachable, changing nothing', async () => {
    const dead = 'https://127.0.0.1:1';
    await assert.rejects(bootstrap(env({}, [keeperUrls[0]!, dead, keeperUrls[2]!])), (err: unknown) => {
      assert.ok(err instanceof KeeperUnreachableError);
      assert.deepEqual(err.keepers, [dead]);
      assert.match(err.message, /127\.0\.0\.1:1 is unreachable/);
      return true;
    });
    assert.ok(keepers.every((k) => !k.holder.hasShard()));
  });
});
