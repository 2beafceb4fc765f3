import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createSpikeClient } from './create-spike-client.ts';
import type { SpikeClient } from './spike-client.ts';
import {
  SpikeBadRequestError,
  SpikeBodyTooLargeError,
  SpikeConnectionError,
  SpikeError,
  SpikeInternalError,
  SpikeNotFoundError,
  SpikeNotReadyError,
  SpikeRateLimitedError,
  SpikeOutcomeUnknownError,
  SpikeUnauthorizedError,
  isSpikeError,
} from './spike-error.ts';
import { createTestPki, startFakeNexus } from './testing/index.ts';
import type { FakeNexus, TestPki } from './testing/index.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function lastBody(fake: FakeNexus): unknown {
  const rec = fake.requests.at(-1);
  assert.ok(rec);
  return JSON.parse(rec.body.toString('utf8'));
}

const shard = (seed: number): number[] => Array.from({ length: 32 }, (_, i) => (seed * 31 + i) & 0xff);

describe('SpikeClient against a fake Nexus over mTLS', () => {
  let pki: TestPki;
  let fake: FakeNexus;
  let spike: SpikeClient;
  const clients: SpikeClient[] = [];
  const connect = async (who: Parameters<TestPki['sourceFor']>[0], url = fake.url): Promise<SpikeClient> => {
    const c = await createSpikeClient({
      source: pki.sourceFor(who),
      nexusUrl: url,
      env: {},
      timeoutMs: 5000,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    pki = await createTestPki();
    fake = await startFakeNexus({
      ...pki.serverTls(),
      shards: { '1': shard(1), '2': shard(2), '3': shard(3) },
    });
    spike = await connect('superuser');
  });
  after(async () => {
    for (const c of clients) await c.close();
    await fake.close();
  });

  it('puts, gets (current and by version) and lists secrets', async () => {
    await spike.putSecret('tenants/demo/db/creds', { username: 'SPIKE', password: 'SPIKE_Rocks' });
    assert.deepEqual(lastBody(fake), {
      path: 'tenants/demo/db/creds',
      values: { username: 'SPIKE', password: 'SPIKE_Rocks' },
    });
    await spike.putSecret('/tenants//demo/db/creds/', { username: 'v2' });
    assert.equal((lastBody(fake) as { path: string }).path, 'tenants/demo/db/creds', 'path is normalized');
    assert.deepEqual(await spike.getSecret('tenants/demo/db/creds'), { username: 'v2' });
    assert.deepEqual(await spike.getSecret('tenants/demo/db/creds', 1), {
      username: 'SPIKE',
      password: 'SPIKE_Rocks',
    });
    assert.deepEqual(await spike.listSecrets(), ['tenants/demo/db/creds']);
  });

  it('reads metadata', async () => {
    const meta = await spike.getSecretMetadata('tenants/demo/db/creds');
    assert.equal(meta.metadata.currentVersion, 2);
    assert.equal(meta.metadata.oldestVersion, 1);
    assert.equal(meta.metadata.maxVersions, 10);
    assert.deepEqual(Object.keys(meta.versions).sort(), ['1', '2']);
    assert.equal(meta.versions['1']?.version, 1);
    assert.equal(meta.versions['1']?.deletedTime, null);
  });

  it('deletes and undeletes; default undelete sends [] and revives a fully deleted secret', async () => {
    await spike.putSecret('app/x', { a: '1' });
    await spike.deleteSecret('app/x');
    assert.deepEqual(lastBody(fake), { path: 'app/x', versions: [] });
    await assert.rejects(spike.getSecret('app/x'), SpikeNotFoundError);
    await spike.undeleteSecret('app/x');
    assert.deepEqual(lastBody(fake), { path: 'app/x', versions: [] });
    assert.deepEqual(await spike.getSecret('app/x'), { a: '1' });
    await spike.deleteSecret('app/x', [1]);
    assert.deepEqual(lastBody(fake), { path: 'app/x', versions: [1] });
    await spike.undeleteSecret('app/x', [1]);
    assert.deepEqual(await spike.getSecret('app/x'), { a: '1' });
  });

  it('manages policies with SPIKE field names on the wire', async () => {
    const policy = {
      name: 'workload-can-read',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/.*$',
      pathPattern: '^tenants/demo/db/.*$',
      permissions: ['read'] as const,
    };
    await spike.putPolicy(policy);
    assert.deepEqual(lastBody(fake), {
      name: policy.name,
      spiffeidPattern: policy.spiffeIdPattern,
      pathPattern: policy.pathPattern,
      permissions: ['read'],
    });
    const got = await spike.getPolicy('workload-can-read');
    assert.equal(got.spiffeIdPattern, policy.spiffeIdPattern, 'read from the spiffiedPattern field');
    assert.equal(got.pathPattern, policy.pathPattern);
    assert.deepEqual(got.permissions, ['read']);
    assert.match(got.createdAt, /^\d{4}-/);
    assert.deepEqual(lastBody(fake), { id: 'workload-can-read' });
    assert.deepEqual(await spike.listPolicies(), [{ id: '', name: 'workload-can-read' }]);
    assert.deepEqual(await spike.listPolicies({ pathPattern: '^nope$' }), []);
    assert.deepEqual(lastBody(fake), { spiffeidPattern: '', pathPattern: '^nope$' });
    await spike.deletePolicy('workload-can-read');
    await assert.rejects(spike.getPolicy('workload-can-read'), SpikeNotFoundError);
    await assert.rejects(spike.deletePolicy('workload-can-read'), SpikeNotFoundError);
  });

  it('encrypts and decrypts in JSON mode, keeping version, nonce and ciphertext', async () => {
    const plaintext = new TextEncoder().encode('hello cipher');
    const enc = await spike.encrypt(plaintext);
    assert.equal(enc.version, 1);
    assert.equal(enc.nonce.byteLength, 12);
    assert.equal(enc.ciphertext.byteLength, plaintext.byteLength + 16);
    assert.deepEqual(await spike.decrypt(enc), plaintext);
    const tampered = { ...enc, ciphertext: enc.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    await assert.rejects(spike.decrypt(tampered), SpikeInternalError);
  });

  it('refuses an invalid SPIKE_HTTP_CLIENT_TIMEOUT instead of silently using the default', async () => {
    for (const bad of ['soon', '0s', '-1s']) {
      await assert.rejects(
        createSpikeClient({
          source: pki.sourceFor('superuser'),
          nexusUrl: fake.url,
          env: { SPIKE_HTTP_CLIENT_TIMEOUT: bad },
        }),
        (err: unknown) =>
          err instanceof SpikeBadRequestError && /SPIKE_HTTP_CLIENT_TIMEOUT/.test(err.message),
      );
    }
  });

  it('encrypts and decrypts in stream mode', async () => {
    const plaintext = new Uint8Array([0, 1, 2, 250, 255]);
    const framed = await spike.encryptStream(plaintext);
    assert.equal(fake.requests.at(-1)?.contentType, 'application/octet-stream');
    assert.equal(framed[0], 1);
    assert.equal(framed.byteLength, 1 + 12 + plaintext.byteLength + 16);
    assert.deepEqual(await spike.decryptStream(framed), plaintext);
    const bad = framed.slice();
    bad[0] = 2;
    await assert.rejects(spike.decryptStream(bad), (err: unknown) => {
      assert.ok(err instanceof SpikeBadRequestError);
      assert.equal(err.wireCode, 'crypto_unsupported_version');
      return true;
    });
  });

  it('validates arguments before sending anything', async () => {
    const before = fake.requests.length;
    const cases: [Promise<unknown>, string][] = [
      [spike.putSecret('a b', { k: 'v' }), 'path'],
      [spike.putSecret('a', { 'bad:key': 'v' }), 'values'],
      [spike.getSecret('a', -1), 'version'],
      [spike.deleteSecret('a', [1.5]), 'versions'],
      [spike.getPolicy('bad/name'), 'name'],
      [
        spike.putPolicy({ name: 'p', spiffeIdPattern: '.*', pathPattern: '^a$', permissions: ['read'] }),
        'spiffeIdPattern',
      ],
      [
        spike.putPolicy({
          name: 'p',
          spiffeIdPattern: '^spiffe://x/y$',
          pathPattern: '^a$',
          permissions: [],
        }),
        'permissions',
      ],
      [spike.decrypt({ version: 1, nonce: new Uint8Array(5), ciphertext: new Uint8Array(20) }), 'nonce'],
      [spike.restore(0, new Uint8Array(32).fill(1)), 'id'],
      [spike.restore(1, new Uint8Array(32)), 'shard'],
      [spike.restore(1, new Uint8Array(31).fill(1)), 'shard'],
    ];
    for (const [promise, argument] of cases) {
      await assert.rejects(promise, (err: unknown) => {
        assert.ok(err instanceof SpikeBadRequestError, String(err));
        assert.equal(err.status, 0);
        assert.equal(err.argument, argument);
        return true;
      });
    }
    assert.equal(fake.requests.length, before, 'nothing was sent');
  });

  it('reuses one TLS connection for sequential calls (keep-alive)', async () => {
    const c = await connect('superuser');
    const start = fake.connections;
    for (let i = 0; i < 5; i++) await c.listSecrets();
    assert.equal(fake.connections - start, 1);
  });

  it('recovers shares with the recover role and restores with the restore role', async () => {
    const recoverer = await connect('recover');
    const shards = await recoverer.recover();
    assert.deepEqual(
      shards.map((s) => s.id),
      [1, 2, 3],
    );
    assert.deepEqual(Array.from(shards[1]!.shard), shard(2));
    const restorer = await connect('restore');
    fake.ready = false;
    const first = await restorer.restore(1, shards[0]!.shard);
    assert.deepEqual(first, { collected: 1, remaining: 1, restored: false });
    assert.deepEqual(lastBody(fake), { id: 1, shard: shard(1) });
    const second = await restorer.restore(2, shards[1]!.shard);
    assert.deepEqual(second, { collected: 2, remaining: 0, restored: true });
    assert.equal(fake.ready, true);
  });

  it('maps a denied call to SpikeUnauthorizedError', async () => {
    const stranger = await connect('stranger');
    await assert.rejects(stranger.listSecrets(), SpikeUnauthorizedError);
    await assert.rejects(spike.recover(), SpikeUnauthorizedError);
  });

  it('maps 503 state_not_ready to SpikeNotReadyError', async () => {
    fake.ready = false;
    try {
      await assert.rejects(spike.listSecrets(), SpikeNotReadyError);
    } finally {
      fake.ready = true;
    }
  });

  describe('error mapping of every wire code', () => {
    const table = [
      [400, 'api_bad_request', SpikeBadRequestError],
      [401, 'access_unauthorized', SpikeUnauthorizedError],
      [404, 'api_not_found', SpikeNotFoundError],
      [413, 'api_body_too_large', SpikeBodyTooLargeError],
      [500, 'api_internal_error', SpikeInternalError],
      [503, 'state_not_ready', SpikeNotReadyError],
      [429, 'api_rate_limited', SpikeRateLimitedError],
      [500, 'api_outcome_unknown', SpikeOutcomeUnknownError],
    ] as const;
    after(() => {
      fake.override = undefined;
    });
    for (const [status, code, cls] of table) {
      it(`${status} {"err":"${code}"} → ${cls.name}`, async () => {
        fake.override = { status, body: JSON.stringify({ data: null, err: code }) };
        await assert.rejects(spike.getSecret('a'), (err: unknown) => {
          assert.ok(err instanceof cls);
          assert.equal(err.code, code);
          assert.equal(err.status, status);
          return true;
        });
      });
    }
    it('an unknown code becomes SpikeError code unknown with the status', async () => {
      fake.override = { status: 409, body: '{"err":"entity_conflict"}' };
      await assert.rejects(spike.listSecrets(), (err: unknown) => {
        assert.ok(isSpikeError(err));
        assert.equal(err.constructor, SpikeError);
        assert.equal(err.code, 'unknown');
        assert.equal(err.status, 409);
        return true;
      });
    });
    it('an err field in a 200 answer is an error too (SPIKE SDK behaviour)', async () => {
      fake.override = { status: 200, body: '{"keys":null,"err":"api_not_found"}' };
      await assert.rejects(spike.listSecrets(), SpikeNotFoundError);
    });
    it('a non-JSON error body falls back to the status', async () => {
      fake.override = { status: 503, body: 'not ready', contentType: 'text/plain' };
      await assert.rejects(spike.listSecrets(), SpikeNotReadyError);
    });
    it('a malformed success answer is rejected', async () => {
      fake.override = { status: 200, body: '{"keys":"nope"}' };
      await assert.rejects(
        spike.listSecrets(),
        (err: unknown) => isSpikeError(err) && err.code === 'unknown',
      );
      fake.override = { status: 200, body: '[1,2]' };
      await assert.rejects(
        spike.listSecrets(),
        (err: unknown) => isSpikeError(err) && err.code === 'unknown',
      );
    });
  });

  describe('damaged-row reports (SPIKE-TS additions)', () => {
    after(() => {
      fake.override = undefined;
    });
    it('list reports read the additive damagedRows count; a server without it reports 0', async () => {
      fake.override = { status: 200, body: '{"keys":["a"]}' };
      assert.deepEqual(await spike.listSecretsReport(), { keys: ['a'], damagedRows: 0, damagedNames: [] });
      fake.override = { status: 200, body: '{"keys":["a"],"damagedRows":2,"damagedNames":["b"]}' };
      assert.deepEqual(await spike.listSecretsReport(), { keys: ['a'], damagedRows: 2, damagedNames: ['b'] });
      assert.deepEqual(await spike.listSecrets(), ['a']);
      fake.override = { status: 200, body: '{"policies":[{"id":"","name":"p"}],"damagedRows":1}' };
      assert.deepEqual(await spike.listPoliciesReport(), {
        policies: [{ id: '', name: 'p' }],
        damagedRows: 1,
        damagedNames: [],
      });
      fake.override = { status: 200, body: '{"keys":[],"damagedRows":1,"damagedNames":[7]}' };
      await assert.rejects(
        spike.listSecretsReport(),
        (err: unknown) => isSpikeError(err) && err.code === 'unknown',
      );
      for (const bad of ['-1', '1.5', '"2"']) {
        fake.override = { status: 200, body: `{"keys":[],"damagedRows":${bad}}` };
        await assert.rejects(
          spike.listSecretsReport(),
          (err: unknown) => isSpikeError(err) && err.code === 'unknown',
        );
      }
    });
    it('listDamagedRows decodes rows strictly; removeDamagedRow checks its arguments before sending', async () => {
      const id = 'ab'.repeat(32);
      fake.override = {
        status: 200,
        body: JSON.stringify({ rows: [{ table: 'policies', id, kind: 'unreadable', name: 'p' }] }),
      };
      assert.deepEqual(await spike.listDamagedRows(), [
        { table: 'policies', id, kind: 'unreadable', name: 'p' },
      ]);
      fake.override = {
        status: 200,
        body: JSON.stringify({
          rows: [{ table: 'secret_versions', id, version: 3, kind: 'stale', name: 'a/b' }],
        }),
      };
      assert.deepEqual(await spike.listDamagedRows(), [
        { table: 'secret_versions', id, version: 3, kind: 'stale', name: 'a/b' },
      ]);
      for (const rows of [
        [{ table: 'meta', id, kind: 'x' }],
        [{ table: 'secret_versions', id, kind: 'missing' }],
        [{ table: 'secret_versions', id, version: '3', kind: 'missing' }],
      ]) {
        fake.override = { status: 200, body: JSON.stringify({ rows }) };
        await assert.rejects(
          spike.listDamagedRows(),
          (err: unknown) => isSpikeError(err) && err.code === 'unknown',
        );
      }
      const sent = fake.requests.length;
      await assert.rejects(spike.removeDamagedRow('secrets', id.toUpperCase()), SpikeBadRequestError);
      await assert.rejects(spike.removeDamagedRow('meta' as never, id), SpikeBadRequestError);
      await assert.rejects(spike.removeDamagedRow('secret_versions', id), SpikeBadRequestError);
      await assert.rejects(spike.removeDamagedRow('secret_versions', id, 0), SpikeBadRequestError);
      await assert.rejects(spike.removeDamagedRow('secrets', id, 2), SpikeBadRequestError);
      assert.equal(fake.requests.length, sent, 'nothing was sent');
      fake.override = { status: 200, body: '{}' };
      await spike.removeDamagedRow('secrets', id);
      assert.deepEqual(lastBody(fake), { table: 'secrets', id });
      await spike.removeDamagedRow('secret_versions', id, 3);
      assert.deepEqual(lastBody(fake), { table: 'secret_versions', id, version: 3 });
      assert.equal(fake.requests.at(-1)?.path, '/v1/operator/damaged');
      assert.equal(fake.requests.at(-1)?.action, 'delete');
    });
  });

  it('connection refused → SpikeConnectionError carrying the URL', async () => {
    const url = `https://127.0.0.1:${await freePort()}`;
    const c = await connect('superuser', url);
    await assert.rejects(c.listSecrets(), (err: unknown) => {
      assert.ok(err instanceof SpikeConnectionError);
      assert.equal(err.url, url);
      assert.equal(err.code, 'nexus_unreachable');
      assert.match(err.message, new RegExp(url.replace(/\./g, '\\.')));
      return true;
    });
  });

  it('refuses a server that is not Nexus (pinned to the Nexus role)', async () => {
    const impostor = await startFakeNexus(pki.serverTls('stranger'));
    try {
      const c = await connect('superuser', impostor.url);
      await assert.rejects(c.listSecrets(), SpikeConnectionError);
      assert.equal(impostor.requests.length, 0, 'no request reached the impostor');
    } finally {
      await impostor.close();
    }
  });

  it('rejects a bad Nexus URL and calls after close', async () => {
    await assert.rejects(
      createSpikeClient({ source: pki.sourceFor('superuser'), nexusUrl: 'http://127.0.0.1:1', env: {} }),
      (err: unknown) => err instanceof SpikeBadRequestError && err.argument === 'nexusUrl',
    );
    const c = await createSpikeClient({
      source: pki.sourceFor('superuser'),
      env: { SPIKE_NEXUS_API_URL: fake.url },
    });
    assert.equal(c.nexusUrl, fake.url);
    await c.close();
    await assert.rejects(c.listSecrets(), /closed/);
  });
});
