/**
 * End to end with real processes: the dev identity issuer hands out SVIDs over the Workload API,
 * `bin/spike-nexus.js` serves them, keepers hold the shares.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateRootKey, shardToJson, splitRootKey } from '@spike-ts/core';
import { startDevIssuer, type DevIssuer } from '@spike-ts/dev-identity';
import { call, type ClientCert, type Pki } from './harness.ts';
import {
  KEEPER_BIN,
  NEXUS_BIN,
  certFromIssuer,
  issuerTrust,
  killAll,
  launch,
  waitForPort,
} from './processes.ts';

describe('spike-nexus process', () => {
  let dir: string;
  let issuer: DevIssuer;
  let trust: Pki;
  const certs: Record<string, ClientCert> = {};

  before(async () => {
    dir = await mkdtemp('/tmp/spx-');
    issuer = await startDevIssuer({ stateDir: join(dir, 'state'), socketDir: join(dir, 's'), env: {} });
    trust = issuerTrust(issuer);
    for (const name of ['pilot', 'pilot-restore', 'lite', 'demo'])
      certs[name] = await certFromIssuer(issuer, name);
  });
  after(async () => {
    await killAll();
    await issuer.close();
    await rm(dir, { recursive: true, force: true });
  });

  const nexusEnv = (extra: Record<string, string>): Record<string, string> => ({
    SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('nexus'),
    SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
    SPIKE_NEXUS_HEALTH_ADDR: 'off',
    SPIKE_NEXUS_AUDIT_LOG: 'stderr',
    SPIKE_SYSTEM_LOG_LEVEL: 'info',
    HOME: dir,
    ...extra,
  });

  it('serves the API with the memory backend and stops cleanly on SIGTERM', async () => {
    const nexus = launch(NEXUS_BIN, nexusEnv({ SPIKE_NEXUS_BACKEND_STORE: 'memory' }));
    const port = await waitForPort(nexus);
    const pilot = certs.pilot as ClientCert;
    let r = await call(port, trust, {
      path: '/v1/store/secrets',
      body: { path: 'tenants/demo/db/creds', values: { username: 'SPIKE', password: 'SPIKE_Rocks' } },
      client: pilot,
    });
    assert.equal(r.status, 200);
    r = await call(port, trust, {
      path: '/v1/store/secrets?action=get',
      body: { path: 'tenants/demo/db/creds' },
      client: pilot,
    });
    assert.deepEqual(r.json(), { data: { username: 'SPIKE', password: 'SPIKE_Rocks' } });
    r = await call(port, trust, {
      path: '/v1/store/secrets?action=get',
      body: { path: 'tenants/demo/db/creds' },
      client: certs.demo as ClientCert,
    });
    assert.equal(r.status, 401);
    r = await call(port, trust, {
      path: '/v1/cipher/encrypt',
      body: Buffer.from('hi'),
      headers: { 'Content-Type': 'application/octet-stream' },
      client: certs.lite as ClientCert,
    });
    assert.equal(r.status, 200);

    nexus.proc.kill('SIGTERM');
    assert.equal(await nexus.exited, 0);
    const out = nexus.output();
    assert.ok(out.includes('"decision":"denied"'), 'audit records on stderr');
    assert.ok(!out.includes('SPIKE_Rocks'), 'no secret value in any output');
  });

  it('refuses to start with an invalid configuration, naming the variable', async () => {
    const nexus = launch(NEXUS_BIN, nexusEnv({ SPIKE_NEXUS_BACKEND_STORE: 'mysql' }));
    assert.equal(await nexus.exited, 2);
    assert.match(nexus.output(), /SPIKE_NEXUS_BACKEND_STORE/);
    assert.ok(!nexus.output().includes('mysql'));
  });

  it('refuses to start without a Nexus SPIFFE ID', async () => {
    const nexus = launch(
      NEXUS_BIN,
      nexusEnv({ SPIKE_NEXUS_BACKEND_STORE: 'memory', SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('keeper') }),
    );
    assert.equal(await nexus.exited, 1);
    assert.match(nexus.output(), /not a SPIKE Nexus ID/);
  });

  it('sqlite: locked until restore, re-seeds keepers, and recovers from them after a restart', async () => {
    const keeperPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const keeper = launch(KEEPER_BIN, {
        SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('keeper'),
        SPIKE_KEEPER_TLS_PORT: '127.0.0.1:0',
        HOME: dir,
      });
      keeperPorts.push(await waitForPort(keeper));
    }
    const env = nexusEnv({
      SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
      SPIKE_NEXUS_DATA_DIR: join(dir, 'nexus'),
      SPIKE_NEXUS_KEEPER_PEERS: keeperPorts.map((p) => `https://127.0.0.1:${String(p)}`).join(','),
      SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL: '1s',
    });
    const pilot = certs.pilot as ClientCert;

    let nexus = launch(NEXUS_BIN, env);
    let port = await waitForPort(nexus);
    let r = await call(port, trust, { path: '/v1/store/secrets?action=list', body: {}, client: pilot });
    assert.equal(r.status, 503);
    assert.deepEqual(r.json(), { keys: null, err: 'state_not_ready' });

    const rootKey = generateRootKey();
    const shares = splitRootKey(rootKey, 2, 3);
    for (const [i, share] of shares.slice(0, 2).entries()) {
      r = await call(port, trust, {
        path: '/v1/operator/restore',
        body: { id: share.id, shard: shardToJson(share.value) },
        client: certs['pilot-restore'] as ClientCert,
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { collected: i + 1, remaining: 1 - i, restored: i === 1 });
    }
    r = await call(port, trust, {
      path: '/v1/store/secrets',
      body: { path: 'durable/x', values: { k: 'survives' } },
      client: pilot,
    });
    assert.equal(r.status, 200);

    // Give custody time to push the shares to the keepers, then restart Nexus alone.
    await new Promise((res) => setTimeout(res, 2500));
    nexus.proc.kill('SIGTERM');
    assert.equal(await nexus.exited, 0);

    nexus = launch(NEXUS_BIN, env);
    port = await waitForPort(nexus);
    const deadline = Date.now() + 20_000;
    for (;;) {
      r = await call(port, trust, {
        path: '/v1/store/secrets?action=get',
        body: { path: 'durable/x' },
        client: pilot,
      });
      if (r.status !== 503 || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal(r.status, 200, nexus.output());
    assert.deepEqual(r.json(), { data: { k: 'survives' } });
    nexus.proc.kill('SIGTERM');
    assert.equal(await nexus.exited, 0);
  });
});
