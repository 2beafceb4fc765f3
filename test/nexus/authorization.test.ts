import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

const LISTER = 'spiffe://spike.ist/workload/lister';
const ADMIN = 'spiffe://spike.ist/workload/acl-admin';

describe('authorization through policies', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (path: string, body: unknown, as: string) => Promise<number>;
  let sendReply: (path: string, body: unknown, as: string) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki);
    const c = client(t, pki);
    sendReply = async (path, body, as) => c({ path, body, client: await pki.cert(as) });
    send = async (path, body, as) => (await sendReply(path, body, as)).status;
    const policies = [
      {
        name: 'app-writers',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/writer$',
        pathPattern: '^app/.*$',
        permissions: ['write'],
      },
      {
        name: 'app-readers',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
        pathPattern: '^app/.*$',
        permissions: ['read'],
      },
      {
        name: 'secret-listers',
        spiffeidPattern: `^spiffe://spike\\.ist/workload/lister$`,
        pathPattern: '^spike/system/secret$',
        permissions: ['list'],
      },
      {
        name: 'acl-admins',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/acl-admin$',
        pathPattern: '^spike/system/acl$',
        permissions: ['read', 'write', 'list'],
      },
    ];
    for (const p of policies) assert.equal(await send('/v1/acl/policy', p, ID.superuser), 200);
  });
  after(() => t.close());

  it('write grants put/delete/undelete on matching paths only', async () => {
    assert.equal(await send('/v1/store/secrets', { path: 'app/a', values: { k: 'v' } }, ID.writer), 200);
    assert.equal(await send('/v1/store/secrets?action=delete', { path: 'app/a' }, ID.writer), 200);
    assert.equal(await send('/v1/store/secrets?action=undelete', { path: 'app/a' }, ID.writer), 200);
    assert.equal(await send('/v1/store/secrets', { path: 'other/a', values: { k: 'v' } }, ID.writer), 401);
    assert.equal(await send('/v1/store/secrets?action=get', { path: 'app/a' }, ID.writer), 401);
    assert.equal(await send('/v1/store/secrets/metadata?action=get', { path: 'app/a' }, ID.writer), 401);
  });

  it('read grants get and metadata, not writes or list', async () => {
    const r = await sendReply('/v1/store/secrets?action=get', { path: 'app/a' }, ID.reader);
    assert.deepEqual(r.json(), { data: { k: 'v' } });
    assert.equal(await send('/v1/store/secrets/metadata?action=get', { path: 'app/a' }, ID.reader), 200);
    assert.equal(await send('/v1/store/secrets', { path: 'app/a', values: { k: 'x' } }, ID.reader), 401);
    assert.equal(await send('/v1/store/secrets?action=delete', { path: 'app/a' }, ID.reader), 401);
    assert.equal(await send('/v1/store/secrets?action=list', {}, ID.reader), 401);
  });

  it('list on spike/system/secret grants the secret list only', async () => {
    const r = await sendReply('/v1/store/secrets?action=list', {}, LISTER);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { keys: ['app/a'] });
    assert.equal(await send('/v1/store/secrets?action=get', { path: 'app/a' }, LISTER), 401);
    assert.equal(await send('/v1/acl/policy?action=list', {}, LISTER), 401);
  });

  it('permissions on spike/system/acl grant the policy routes', async () => {
    const p = {
      name: 'made-by-admin',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/x$',
      pathPattern: '^x$',
      permissions: ['read'],
    };
    assert.equal(await send('/v1/acl/policy', p, ADMIN), 200);
    assert.equal(await send('/v1/acl/policy?action=get', { id: 'made-by-admin' }, ADMIN), 200);
    assert.equal(await send('/v1/acl/policy?action=list', {}, ADMIN), 200);
    assert.equal(await send('/v1/acl/policy?action=delete', { id: 'made-by-admin' }, ADMIN), 200);
    assert.equal(await send('/v1/acl/policy', p, ID.writer), 401);
    assert.equal(await send('/v1/store/secrets?action=get', { path: 'app/a' }, ADMIN), 401);
    assert.equal(await send('/v1/cipher/encrypt', { plaintext: '' }, ADMIN), 401);
  });

  it('the superuser may manage secrets, policies and the cipher but not recover, restore or verify', async () => {
    assert.equal(await send('/v1/store/secrets?action=get', { path: 'app/a' }, ID.superuser), 200);
    assert.equal(await send('/v1/acl/policy?action=list', {}, ID.superuser), 200);
    assert.equal(await send('/v1/cipher/encrypt', { plaintext: '' }, ID.superuser), 200);
    assert.equal(await send('/v1/operator/recover', {}, ID.superuser), 401);
    assert.equal(
      await send('/v1/operator/restore', { id: 1, shard: Array.from({ length: 32 }, () => 1) }, ID.superuser),
      401,
    );
    assert.equal(
      await send('/v1/bootstrap/verify', { nonce: 'AAAAAAAAAAAAAAAA', ciphertext: '' }, ID.superuser),
      401,
    );
  });

  it('role IDs below the role base count, look-alikes do not', async () => {
    assert.equal(await send('/v1/store/secrets?action=list', {}, `${ID.superuser}/alice`), 200);
    assert.equal(await send('/v1/store/secrets?action=list', {}, `${ID.superuser}-evil`), 401);
    assert.equal(await send('/v1/store/secrets?action=list', {}, 'spiffe://spike.ist/spike/pilot/role'), 401);
  });
});
