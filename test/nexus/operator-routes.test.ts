import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { aesGcmEncrypt, randomBytes } from '@spike-ts/core';
import type { Custody, CustodyFactory, NexusState } from '@spike-ts/nexus';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

const RECOVER = '/v1/operator/recover';
const RESTORE = '/v1/operator/restore';
const VERIFY = '/v1/bootstrap/verify';

/** A custody double: collects shares and, at the second one, installs `rootKey`. */
function fakeCustody(rootKey: Uint8Array) {
  const received: { id: number; shard: Uint8Array; copy: number[] }[] = [];
  let started = 0;
  let stopped = 0;
  let state: NexusState | undefined;
  const factory: CustodyFactory = (deps) => {
    state = deps.state;
    const custody: Custody = {
      recoverShards: () => ({
        '1': Array.from({ length: 32 }, () => 1),
        '2': Array.from({ length: 32 }, () => 2),
      }),
      async restoreShard(id, shard) {
        received.push({ id, shard, copy: [...shard] });
        const restored = received.length >= 2;
        if (restored) await deps.state.installRootKey(new Uint8Array(rootKey));
        return { collected: received.length, remaining: Math.max(0, 2 - received.length), restored };
      },
      start: () => void started++,
      stop: () => {
        stopped++;
        return Promise.resolve();
      },
    };
    return custody;
  };
  return { factory, received, counts: () => ({ started, stopped }), state: () => state };
}

const shard = (fill: number): number[] => Array.from({ length: 32 }, (_, i) => (i === 0 ? fill : 7));

describe('operator and bootstrap routes with the memory backend', () => {
  let pki: Pki;
  let t: TestNexus;
  before(async () => {
    pki = await createPki();
    t = await startNexus(pki);
  });
  after(() => t.close());

  it('recover and restore answer 400 as SPIKE does in memory mode', async () => {
    const c = client(t, pki);
    let r = await c({ path: RECOVER, body: {}, client: await pki.cert(ID.recover) });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { shards: null, err: 'api_bad_request' });
    r = await c({ path: RESTORE, body: { id: 1, shard: shard(1) }, client: await pki.cert(ID.restore) });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { collected: 0, remaining: 0, restored: false, err: 'api_bad_request' });
  });
});

describe('operator and bootstrap routes with a locked sqlite store', () => {
  let pki: Pki;
  let t: TestNexus;
  const rootKey = randomBytes(32);
  const fake = fakeCustody(rootKey);
  let send: (path: string, body: unknown, as: string) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite', rootKey: null, custodyFactory: fake.factory });
    const c = client(t, pki);
    send = async (path, body, as) => c({ path, body, client: await pki.cert(as) });
  });
  after(async () => {
    await t.close();
    assert.equal(fake.counts().stopped, 1);
  });

  it('starts custody on listen and hands it the state', () => {
    assert.equal(fake.counts().started, 1);
    assert.equal(fake.state(), t.nexus.state);
  });

  it('everything but recover/restore is 503 state_not_ready while locked', async () => {
    assert.equal(t.nexus.state.isReady(), false);
    const cases: [string, unknown, string, Record<string, unknown>][] = [
      ['/v1/store/secrets?action=get', { path: 'a' }, ID.superuser, { data: null }],
      ['/v1/store/secrets', { path: 'a', values: {} }, ID.superuser, {}],
      ['/v1/acl/policy?action=list', {}, ID.superuser, { policies: null }],
      ['/v1/cipher/encrypt', { plaintext: '' }, ID.superuser, { version: 0, nonce: null, ciphertext: null }],
      [VERIFY, { nonce: '', ciphertext: '' }, ID.bootstrap, { hash: '' }],
    ];
    for (const [path, body, as, shape] of cases) {
      const r = await send(path, body, as);
      assert.equal(r.status, 503, path);
      assert.deepEqual(r.json(), { ...shape, err: 'state_not_ready' });
    }
    // Recover and restore bypass the gate.
    const rec = await send(RECOVER, {}, ID.recover);
    assert.equal(rec.status, 200);
    assert.deepEqual(Object.keys(rec.json().shards as object), ['1', '2']);
  });

  it('restore validates before custody sees anything', async () => {
    const bad: unknown[] = [
      { id: 0, shard: shard(1) },
      { id: -1, shard: shard(1) },
      { id: 1001, shard: shard(1) },
      { id: 1.5, shard: shard(1) },
      { id: 1 },
      { id: 1, shard: shard(1).slice(0, 31) },
      { id: 1, shard: [...shard(1).slice(0, 31), 256] },
      { id: 1, shard: Array.from({ length: 32 }, () => 0) },
      { id: '1', shard: shard(1) },
      '{"id":1,"shard":',
    ];
    for (const body of bad) {
      const r = await send(RESTORE, body, ID.restore);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(r.json(), { collected: 0, remaining: 0, restored: false, err: 'api_bad_request' });
    }
    assert.equal(fake.received.length, 0);
  });

  it('only the matching role may recover, restore or verify', async () => {
    for (const [path, body, roles] of [
      [RECOVER, {}, [ID.superuser, ID.restore, ID.bootstrap, ID.stranger, ID.nexus, ID.keeper, ID.lite]],
      [RESTORE, { id: 1, shard: shard(1) }, [ID.superuser, ID.recover, ID.bootstrap, ID.stranger, ID.lite]],
    ] as const) {
      for (const as of roles) {
        const r = await send(path, body, as);
        assert.equal(r.status, 401, `${path} as ${as}`);
        assert.equal(r.json().err, 'access_unauthorized');
      }
    }
    assert.equal(fake.received.length, 0);
  });

  it('restore collects shares, installs the key and zeroes the share buffers', async () => {
    let r = await send(RESTORE, { id: 1, shard: shard(11) }, ID.restore);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { collected: 1, remaining: 1, restored: false });
    assert.equal(t.nexus.state.isReady(), false);
    r = await send(RESTORE, { id: 2, shard: shard(22) }, ID.restore);
    assert.deepEqual(r.json(), { collected: 2, remaining: 0, restored: true });
    assert.equal(t.nexus.state.isReady(), true);
    assert.deepEqual(
      fake.received.map((x) => [x.id, x.copy[0]]),
      [
        [1, 11],
        [2, 22],
      ],
    );
    for (const x of fake.received)
      assert.ok(
        x.shard.every((b) => b === 0),
        'share buffer zeroed after use',
      );
    assert.ok(!t.audit.lines.join('').includes('[11,7,7'), 'no share in the audit log');

    const ok = await send('/v1/store/secrets', { path: 'after/restore', values: { a: '1' } }, ID.superuser);
    assert.equal(ok.status, 200);
  });

  it('bootstrap verify proves possession of the root key', async () => {
    const plaintext = Buffer.from(randomBytes(32)).toString('hex');
    const nonce = randomBytes(12);
    const ciphertext = aesGcmEncrypt(rootKey, nonce, Buffer.from(plaintext));
    const body = {
      nonce: Buffer.from(nonce).toString('base64'),
      ciphertext: Buffer.from(ciphertext).toString('base64'),
    };
    let r = await send(VERIFY, body, ID.bootstrap);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { hash: createHash('sha256').update(plaintext).digest('hex') });

    for (const as of [ID.superuser, ID.recover, ID.restore, ID.stranger, ID.nexus]) {
      r = await send(VERIFY, body, as);
      assert.equal(r.status, 401, as);
      assert.deepEqual(r.json(), { hash: '', err: 'access_unauthorized' });
    }

    const wrong = aesGcmEncrypt(randomBytes(32), nonce, Buffer.from(plaintext));
    r = await send(VERIFY, { ...body, ciphertext: Buffer.from(wrong).toString('base64') }, ID.bootstrap);
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { hash: '', err: 'api_internal_error' });

    r = await send(VERIFY, { ...body, nonce: Buffer.from(randomBytes(8)).toString('base64') }, ID.bootstrap);
    assert.equal(r.status, 400);
  });
});
