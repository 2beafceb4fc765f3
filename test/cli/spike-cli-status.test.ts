/**
 * `spike status` (the real binary) against real Nexus instances over mTLS: a ready one (memory
 * backend), a not-ready one (sqlite, keepers that do not answer), and none at all. Also the
 * additive status route's authorization, through the SDK with other identities.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createX509Source } from '@spike-ts/identity';
import type { X509Source } from '@spike-ts/identity';
import { createMemoryAuditSink, createNexus, loadConfig } from '@spike-ts/nexus';
import type { Nexus } from '@spike-ts/nexus';
import { createSpikeClient } from '@spike-ts/sdk';
import { runSpike, startIdentityLab } from './cli-harness.ts';
import type { IdentityLab } from './cli-harness.ts';
import { freePorts } from '../../scripts/stack.ts';

describe('spike status', () => {
  let lab: IdentityLab;
  let source: X509Source;
  const servers: Nexus[] = [];
  let readyUrl: string;
  let unreadyUrl: string;

  async function start(env: Record<string, string>): Promise<string> {
    const config = loadConfig(
      { SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0', SPIKE_NEXUS_HEALTH_ADDR: 'off', ...env },
      { homeDir: lab.dir },
    );
    const nexus = await createNexus(config, { source, auditSink: createMemoryAuditSink() });
    servers.push(nexus);
    return `https://127.0.0.1:${(await nexus.listen()).port}`;
  }

  before(async () => {
    lab = await startIdentityLab();
    source = await createX509Source({
      endpoint: lab.issuer.endpointFor('nexus'),
      env: {},
      timeoutMs: 10_000,
    });
    readyUrl = await start({ SPIKE_NEXUS_BACKEND_STORE: 'memory' });
    unreadyUrl = await start({
      SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
      SPIKE_NEXUS_DATA_DIR: join(lab.dir, 'nexus'),
      SPIKE_NEXUS_KEEPER_PEERS: 'https://127.0.0.1:1,https://127.0.0.1:2,https://127.0.0.1:3',
    });
  });
  after(async () => {
    for (const n of servers) await n.close();
    await source?.close();
    await lab?.close();
  });

  it('a ready Nexus: exit 0, reachable, ready, root key, versions; JSON too', async () => {
    const run = await runSpike(['status'], { env: lab.env('pilot', readyUrl) });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^SPIKE Nexus +${readyUrl.replace(/\./g, '\\.')}\n`));
    assert.match(run.stdout, /^Reachable +yes$/m);
    assert.match(run.stdout, /^Ready +yes$/m);
    assert.match(run.stdout, /^Root key +none \(memory backend/m);
    assert.match(run.stdout, /^Nexus version +\d+\.\d+\.\d+$/m);
    assert.match(run.stdout, /^spike version +\d+\.\d+\.\d+$/m);
    const json = await runSpike(['status', '-f', 'json'], { env: lab.env('pilot', readyUrl) });
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(doc['reachable'], true);
    assert.equal(doc['ready'], true);
    assert.equal(doc['backend'], 'memory');
    assert.deepEqual(doc['keepers'], []);
  });

  it('a Nexus without its root key: exit 5, root key missing, every keeper listed', async () => {
    const run = await runSpike(['status'], { env: lab.env('pilot', unreadyUrl) });
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stdout, /^Ready +no$/m);
    assert.match(run.stdout, /^Root key +missing/m);
    assert.match(run.stdout, /^Keepers +3 \(any 2 rebuild the root key\)$/m);
    assert.match(run.stdout, /^ {2}1 {2}https:\/\/127\.0\.0\.1:1 {2}\S/m);
    assert.match(run.stdout, /^ {2}3 {2}https:\/\/127\.0\.0\.1:3 {2}\S/m);
    assert.match(run.stderr, /not ready: it has no root key yet/);
  });

  it('no Nexus: exit 6 and says so on stdout too', async () => {
    const [port] = await freePorts(1);
    const url = `https://127.0.0.1:${String(port)}`;
    const run = await runSpike(['status'], { env: lab.env('pilot', url) });
    assert.equal(run.code, 6, run.stderr);
    assert.match(run.stdout, /^Reachable +no$/m);
    assert.match(run.stderr, /Cannot reach SPIKE Nexus/);
  });

  it('only the Pilot superuser may ask: the CLI checks first, Nexus refuses others', async () => {
    const run = await runSpike(['status'], { env: lab.env('pilot-recover', readyUrl) });
    assert.equal(run.code, 4);
    for (const identity of ['pilot-recover', 'stranger', 'demo']) {
      const own = await createX509Source({
        endpoint: lab.issuer.endpointFor(identity),
        env: {},
        timeoutMs: 10_000,
      });
      const client = await createSpikeClient({ source: own, nexusUrl: readyUrl, env: {} });
      try {
        await assert.rejects(client.status(), (err: { code?: string }) => err.code === 'access_unauthorized');
      } finally {
        await client.close();
        await own.close();
      }
    }
  });
});
