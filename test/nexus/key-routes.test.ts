/**
 * The named-key routes over real mTLS: policy permissions `sign`, `verify`, `decrypt` and
 * `write` on key names, the key namespace out of reach of every secret route (the Pilot
 * superuser included), no private key in any answer, bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

const SIGNER = 'spiffe://spike.ist/workload/signer';
const CHECKER = 'spiffe://spike.ist/workload/checker';
const OPENER = 'spiffe://spike.ist/workload/opener';
const msg = Buffer.from('artifact sha256 0123\n').toString('base64');

describe('named-key routes', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (path: string, body: unknown, as: string) => Promise<Reply>;
  const answers: string[] = [];

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { env: { SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE: '2048' } });
    const c = client(t, pki);
    send = async (path, body, as) => {
      const r = await c({ path, body, client: await pki.cert(as) });
      answers.push(r.text);
      return r;
    };
    const policy = (name: string, id: string, permissions: string[]) =>
      send(
        '/v1/acl/policy',
        {
          name,
          spiffeidPattern: `^${id.replaceAll('.', '\\.')}$`,
          pathPattern: '^release/.*$',
          permissions,
        },
        ID.superuser,
      );
    assert.equal((await policy('signer', SIGNER, ['sign', 'verify'])).status, 200);
    assert.equal((await policy('checker', CHECKER, ['verify'])).status, 200);
    assert.equal((await policy('opener', OPENER, ['decrypt', 'read'])).status, 200);
  });
  after(() => t.close());

  it('the new permissions are stored and read back like SPIKE’s (string list)', async () => {
    const r = await send('/v1/acl/policy?action=get', { id: 'signer' }, ID.superuser);
    assert.deepEqual(r.json()['permissions'], ['sign', 'verify']);
    const bad = await send(
      '/v1/acl/policy',
      { name: 'x', spiffeidPattern: '^a$', pathPattern: '^a$', permissions: ['encrypt'] },
      ID.superuser,
    );
    assert.equal(bad.status, 400);
  });

  it('sign needs `sign`; a verify-only caller may verify and fetch the public key but not sign', async () => {
    let r = await send('/v1/keys', { name: 'release/app', algorithm: 'ecdsa-p256' }, ID.superuser);
    assert.deepEqual(r.json(), { name: 'release/app', algorithm: 'ecdsa-p256', version: 1 });
    // Creating needs `write` on the name: neither workload has it.
    r = await send('/v1/keys', { name: 'release/other', algorithm: 'ed25519' }, SIGNER);
    assert.equal(r.status, 401);
    r = await send('/v1/keys/sign', { name: 'release/app', message: msg }, SIGNER);
    assert.equal(r.status, 200);
    const signature = r.json()['signature'] as string;
    r = await send('/v1/keys/sign', { name: 'release/app', message: msg }, CHECKER);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), { err: 'access_unauthorized' });
    r = await send('/v1/keys/verify', { name: 'release/app', message: msg, signature }, CHECKER);
    assert.deepEqual(r.json(), { valid: true, version: 1 });
    r = await send('/v1/keys?action=get', { name: 'release/app' }, CHECKER);
    assert.equal(r.status, 200);
    assert.match(r.text, /BEGIN PUBLIC KEY/);
    // Outside the policy's names: denied before any lookup (missing and existing look the same).
    const a = await send('/v1/keys/verify', { name: 'other/app', message: msg, signature }, CHECKER);
    const b = await send('/v1/keys/verify', { name: 'release/app', message: msg, signature }, OPENER);
    assert.deepEqual([a.status, b.status], [401, 401]);
    assert.equal(a.text, b.text);
    // The list needs `list` on spike/system/keys.
    assert.equal((await send('/v1/keys?action=list', {}, SIGNER)).status, 401);
    r = await send('/v1/keys?action=list', {}, ID.superuser);
    assert.deepEqual(r.json()['keys'], [
      { name: 'release/app', algorithm: 'ecdsa-p256', purpose: 'sign', latestVersion: 1 },
    ]);
  });

  it('decrypt needs `decrypt`', async () => {
    let r = await send('/v1/keys', { name: 'release/backup', algorithm: 'rsa-oaep-3072' }, ID.superuser);
    assert.equal(r.status, 200);
    r = await send('/v1/keys?action=get', { name: 'release/backup' }, OPENER);
    const pem = (r.json()['versions'] as { publicKeyPem: string }[])[0]?.publicKeyPem ?? '';
    const { publicEncrypt, constants } = await import('node:crypto');
    const ct = publicEncrypt(
      { key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from('backup key material'),
    ).toString('base64');
    r = await send('/v1/keys/decrypt', { name: 'release/backup', ciphertext: ct }, SIGNER);
    assert.equal(r.status, 401);
    r = await send('/v1/keys/decrypt', { name: 'release/backup', ciphertext: ct }, OPENER);
    assert.equal(Buffer.from(r.json()['plaintext'] as string, 'base64').toString(), 'backup key material');
    assert.equal(r.json()['version'], 1);
  });

  it('no secret route reaches the key namespace, not even for the Pilot superuser', async () => {
    await send('/v1/keys', { name: 'release/hidden', algorithm: 'ed25519' }, ID.superuser);
    assert.equal(
      (await send('/v1/store/secrets', { path: 'visible', values: { a: 'b' } }, ID.superuser)).status,
      200,
    );
    const list = await send('/v1/store/secrets?action=list', {}, ID.superuser);
    assert.deepEqual(list.json(), { keys: ['visible'] });
    for (const [path, body] of [
      ['/v1/store/secrets?action=get', { path: 'spike:keys/release/hidden' }],
      ['/v1/store/secrets/metadata?action=get', { path: 'spike:keys/release/hidden' }],
      ['/v1/store/secrets', { path: 'spike:keys/release/hidden', values: { privateKey: 'x' } }],
      ['/v1/store/secrets?action=delete', { path: 'spike:keys/release/hidden', versions: [1] }],
      ['/v1/store/secrets?action=undelete', { path: 'spike:keys/release/hidden', versions: [1] }],
    ] as const) {
      const r = await send(path, body, ID.superuser);
      assert.equal(r.status, 400, path);
    }
    // The key is unchanged and still signs.
    const r = await send('/v1/keys/sign', { name: 'release/hidden', message: msg }, ID.superuser);
    assert.equal(r.status, 200);
  });

  it('bad input: unknown key or algorithm, bad name, oversized payload, wrong purpose, retired version', async () => {
    const su = ID.superuser;
    const cases: [string, unknown, number][] = [
      ['/v1/keys', { name: 'release/x', algorithm: 'dsa' }, 400],
      ['/v1/keys', { name: '../etc', algorithm: 'ed25519' }, 400],
      ['/v1/keys', { name: 'a//b', algorithm: 'ed25519' }, 400],
      ['/v1/keys', { name: 'release/app', algorithm: 'ed25519' }, 400],
      ['/v1/keys', { name: 'release/u', algorithm: 'ed25519', userId: 'A <a@b.c>' }, 400],
      ['/v1/keys', { name: 7, algorithm: 'ed25519' }, 400],
      ['/v1/keys?action=get', { name: 'release/none' }, 404],
      ['/v1/keys/sign', { name: 'release/none', message: msg }, 404],
      ['/v1/keys/sign', { name: 'release/app', message: 'not base64' }, 400],
      ['/v1/keys/sign', { name: 'release/app', message: Buffer.alloc(2049).toString('base64') }, 400],
      ['/v1/keys/sign', { name: 'release/backup', message: msg }, 400],
      ['/v1/keys/decrypt', { name: 'release/app', ciphertext: 'AAAA' }, 400],
      ['/v1/keys/decrypt', { name: 'release/backup', ciphertext: 'AAAA' }, 400],
      ['/v1/keys/verify', { name: 'release/app', message: msg, signature: '%%%' }, 400],
      ['/v1/keys/retire', { name: 'release/app', versions: [5] }, 404],
      ['/v1/keys/retire', { name: 'release/app', versions: ['1'] }, 400],
      ['/v1/keys/rotate', { name: 'release/none' }, 404],
    ];
    for (const [path, body, status] of cases) {
      const r = await send(path, body, su);
      assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    }
    assert.equal((await send('/v1/keys/rotate', { name: 'release/app' }, su)).json()['version'], 2);
    assert.equal((await send('/v1/keys/retire', { name: 'release/app', versions: [2] }, su)).status, 200);
    const r = await send('/v1/keys/sign', { name: 'release/app', message: msg }, SIGNER);
    assert.equal(r.status, 400);
    const rec = t.audit.records().at(-1);
    assert.equal(rec?.path, 'release/app');
    assert.equal(rec?.status, 400);
  });

  it('no answer ever carried a private key', () => {
    assert.ok(answers.length > 20);
    for (const a of answers) {
      assert.ok(!/PRIVATE KEY/.test(a), a.slice(0, 100));
      assert.ok(!/"d":/.test(a), 'no private JWK member');
    }
  });
});
