/**
 * The whole root-key lifecycle with the real pieces in one process, over SPIFFE mTLS: a Nexus
 * on SQLite with this custody layer, three keepers, bootstrap, restarts, a foreign share, and
 * break-the-glass recover/restore through the HTTP API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constantTimeEqual, randomBytes, silentLogger, splitRootKey } from '@spike-ts/core';
import {
  createMtlsClient,
  createStaticX509Source,
  isNexus,
  trustRootsFromEnv,
  type MtlsClient,
  type StaticX509Source,
  type X509Bundles,
} from '@spike-ts/identity';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted, type MintedCa } from '@spike-ts/identity/mint';
import { createKeeperServer, type KeeperServer } from '@spike-ts/keeper';
import {
  BootstrapRefusedError,
  createMtlsTransport,
  loadBootstrapConfig,
  runBootstrap,
} from '@spike-ts/bootstrap';
import { loadConfig, type NexusConfig } from '../config.ts';
import type { CustodyFactory } from '../custody-port.ts';
import { createNexus, type Nexus } from '../server.ts';
import { createCustodyWith } from './custody.ts';
import { createKeeperClient } from './mtls-keeper-client.ts';

const TD = 'spike.ist';
const ROOTS = trustRootsFromEnv({});

let dataDir = '';
let ca: MintedCa;
let bundles: X509Bundles;
const sources: Record<string, StaticX509Source> = {};
const keepers: KeeperServer[] = [];
const keeperUrls: string[] = [];
const clients: MtlsClient[] = [];
let nexus: Nexus | undefined;

const custodyFactory: CustodyFactory = (deps) =>
  createCustodyWith(deps, {
    keeperClient: createKeeperClient({
      source: deps.source,
      trustRoots: deps.config.trustRoots,
      timeoutMs: 3000,
    }),
    recoveryInitialDelayMs: 50,
    recoveryMaxDelayMs: 200,
  });

function nexusConfig(): NexusConfig {
  return loadConfig({
    SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
    SPIKE_NEXUS_HEALTH_ADDR: 'off',
    SPIKE_NEXUS_AUDIT_LOG: 'off',
    SPIKE_NEXUS_DATA_DIR: dataDir,
    SPIKE_NEXUS_KEEPER_PEERS: keeperUrls.join(','),
    SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL: '200ms',
  });
}

async function startNexus(): Promise<Nexus> {
  await nexus?.close();
  nexus = await createNexus(nexusConfig(), { source: sources.nexus!, custodyFactory, logger: silentLogger });
  await nexus.listen();
  return nexus;
}

const nexusUrl = (): string => `https://127.0.0.1:${nexus!.address().port}`;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function operator(role: 'recover' | 'restore'): MtlsClient {
  const c = createMtlsClient(sources[role]!, {
    authorizeServer: (id) => isNexus(id, ROOTS),
    timeoutMs: 5000,
  });
  clients.push(c);
  return c;
}

async function postJson(
  client: MtlsClient,
  path: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await client.request(nexusUrl() + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: JSON.parse(res.body.toString()) as unknown };
}

async function bootstrap(): Promise<string> {
  const config = loadBootstrapConfig({
    SPIKE_NEXUS_KEEPER_PEERS: keeperUrls.join(','),
    SPIKE_NEXUS_API_URL: nexusUrl(),
    SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '2',
    SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL: '20ms',
    SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: '3s',
    SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT: '20s',
  });
  const transport = createMtlsTransport(sources.bootstrap!, config.trustRoots);
  try {
    return await runBootstrap(config, { transport, progress: () => undefined });
  } finally {
    await transport.close();
  }
}

const keeperHolds = (i: number, shard: number[]): boolean => {
  const copy = keepers[i]?.holder.copy();
  return copy !== undefined && constantTimeEqual(copy, Uint8Array.from(shard));
};

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'spx-'));
  ca = await createCa({ trustDomain: TD });
  bundles = bundlesFromCas([ca]);
  const ids: Record<string, string> = {
    nexus: '/spike/nexus',
    keeper: '/spike/keeper',
    bootstrap: '/spike/bootstrap',
    recover: '/spike/pilot/role/recover',
    restore: '/spike/pilot/role/restore',
  };
  for (const [name, path] of Object.entries(ids)) {
    sources[name] = createStaticX509Source(
      svidFromMinted(await issueSvid(ca, { spiffeId: `spiffe://${TD}${path}` })),
      bundles,
    );
  }
  for (let i = 0; i < 3; i++) {
    const k = createKeeperServer({ source: sources.keeper!, trustRoots: ROOTS, logger: silentLogger });
    keeperUrls.push(`https://127.0.0.1:${(await k.listen(0, '127.0.0.1')).port}`);
    keepers.push(k);
  }
});

after(async () => {
  await nexus?.close();
  for (const c of clients) c.close();
  await Promise.all(keepers.map((k) => k.close()));
  for (const s of Object.values(sources)) await s.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('root-key lifecycle', () => {
  let shards: Record<string, number[]> = {};

  it('bootstrap initializes a fresh Nexus through the keepers', async () => {
    const n = await startNexus();
    assert.equal(n.state.isReady(), false);
    assert.equal(await bootstrap(), 'bootstrapped');
    assert.equal(n.state.isReady(), true);
    assert.ok(keepers.every((k) => k.holder.hasShard()));
  });

  it('a second bootstrap is refused while the system is live', async () => {
    await assert.rejects(bootstrap(), BootstrapRefusedError);
  });

  it('operator recover exports all shares, matching what the keepers hold', async () => {
    const res = await postJson(operator('recover'), '/v1/operator/recover', {});
    assert.equal(res.status, 200);
    shards = (res.json as { shards: Record<string, number[]> }).shards;
    assert.deepEqual(Object.keys(shards), ['1', '2', '3']);
    for (let i = 0; i < 3; i++) assert.ok(keeperHolds(i, shards[String(i + 1)]!), `keeper ${i + 1}`);
  });

  it('a restarted Nexus recovers the root key from the keepers', async () => {
    const n = await startNexus();
    await waitFor('ready after restart', () => n.state.isReady());
  });

  it('a foreign share in one keeper: Nexus still recovers, and re-seeds that keeper', async () => {
    await nexus?.close();
    keepers[0]!.holder.set(randomBytes(32));
    const n = await startNexus();
    await waitFor('ready despite a foreign share', () => n.state.isReady());
    await waitFor('keeper 1 re-seeded', () => keeperHolds(0, shards['1']!));
  });

  it('keepers holding shares of another key: Nexus never installs it and stays not ready', async () => {
    await nexus?.close();
    const other = randomBytes(32);
    other[0] = 0x10; // keep it below the group order
    splitRootKey(other, 2, 3).forEach((s, i) => keepers[i]!.holder.set(s.value));
    const n = await startNexus();
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(n.state.isReady(), false);
  });

  it('break-the-glass restore brings it back, rejecting a bad shard, and re-seeds the keepers', async () => {
    for (const k of keepers) k.holder.clear();
    const n = await startNexus();
    const restore = operator('restore');
    const first = await postJson(restore, '/v1/operator/restore', { id: 1, shard: shards['1'] });
    assert.deepEqual(first, { status: 200, json: { collected: 1, remaining: 1, restored: false } });
    const bad = await postJson(restore, '/v1/operator/restore', { id: 2, shard: [...randomBytes(31), 1] });
    assert.equal(bad.status, 400);
    assert.equal(n.state.isReady(), false);
    // The bad shard is kept (it might have been the right one); the next good one completes
    // the restore with shard 1, leaving the bad one out.
    const last = await postJson(restore, '/v1/operator/restore', { id: 3, shard: shards['3'] });
    assert.deepEqual(last, { status: 200, json: { collected: 3, remaining: 0, restored: true } });
    assert.equal(n.state.isReady(), true);
    await waitFor('keepers re-seeded', () => [0, 1, 2].every((i) => keeperHolds(i, shards[String(i + 1)]!)));
  });
});
