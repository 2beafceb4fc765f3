import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

const POLICY = '/v1/acl/policy';
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

const readers = {
  name: 'readers',
  spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
  pathPattern: '^app/.*$',
  permissions: ['read'],
};

describe('policy routes', () => {
  let pki: Pki;
  let t: TestNexus;
  let clock = Date.parse('2026-03-01T10:00:00.000Z');
  let post: (path: string, body: unknown, as?: string) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { now: () => clock });
    const c = client(t, pki);
    post = async (path, body, as = ID.superuser) => c({ path, body, client: await pki.cert(as) });
  });
  after(() => t.close());

  const snapshot = async (): Promise<unknown> => ({
    stored: await t.store.listPolicies(),
    compiled: t.nexus.state.policies.size,
  });

  it('upsert, get, re-upsert keeps createdAt and moves updatedAt', async () => {
    let r = await post(POLICY, readers);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {});
    r = await post(`${POLICY}?action=get`, { id: 'readers' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      id: '',
      name: 'readers',
      spiffiedPattern: readers.spiffeidPattern,
      spiffeidPattern: readers.spiffeidPattern,
      pathPattern: '^app/.*$',
      permissions: ['read'],
      createdAt: '2026-03-01T10:00:00Z',
      updatedAt: '2026-03-01T10:00:00Z',
    });

    clock += 61_500;
    r = await post(POLICY, { ...readers, permissions: ['read', 'list'] });
    assert.equal(r.status, 200);
    r = await post(`${POLICY}?action=get`, { id: 'readers' });
    const p = r.json();
    assert.equal(p.createdAt, '2026-03-01T10:00:00Z');
    assert.equal(p.updatedAt, '2026-03-01T10:01:01.5Z');
    assert.deepEqual(p.permissions, ['read', 'list']);
    await post(POLICY, readers);
  });

  it('list with exact-string filters; spiffeidPattern wins when both are given', async () => {
    await post(POLICY, {
      name: 'writers',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/writer$',
      pathPattern: '^app/.*$',
      permissions: ['write'],
    });
    await post(POLICY, {
      name: 'other',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
      pathPattern: '^other/.*$',
      permissions: ['read'],
    });
    const names = (r: Reply): string[] =>
      (r.json().policies as { name: string; id: string }[]).map((p) => p.name).sort();

    let r = await post(`${POLICY}?action=list`, {});
    assert.equal(r.status, 200);
    assert.deepEqual(names(r), ['other', 'readers', 'writers']);
    const first = (r.json().policies as Record<string, unknown>[])[0];
    assert.equal(first?.id, '');
    assert.ok(typeof first?.spiffiedPattern === 'string' && typeof first.pathPattern === 'string');

    r = await post(`${POLICY}?action=list`, { spiffeidPattern: readers.spiffeidPattern });
    assert.deepEqual(names(r), ['other', 'readers']);
    r = await post(`${POLICY}?action=list`, { pathPattern: '^app/.*$' });
    assert.deepEqual(names(r), ['readers', 'writers']);
    r = await post(`${POLICY}?action=list`, {
      spiffeidPattern: readers.spiffeidPattern,
      pathPattern: '^nothing$',
    });
    assert.deepEqual(names(r), ['other', 'readers']);
    // Exact equality, not regex evaluation.
    r = await post(`${POLICY}?action=list`, { pathPattern: '^app/' });
    assert.deepEqual(names(r), []);
  });

  it('delete; a missing policy is 404 for get and delete', async () => {
    let r = await post(`${POLICY}?action=delete`, { id: 'other' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {});
    r = await post(`${POLICY}?action=get`, { id: 'other' });
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), {
      id: '',
      name: '',
      spiffiedPattern: '',
      spiffeidPattern: '',
      pathPattern: '',
      permissions: null,
      createdAt: GO_ZERO_TIME,
      updatedAt: GO_ZERO_TIME,
      err: 'api_not_found',
    });
    r = await post(`${POLICY}?action=delete`, { id: 'other' });
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { err: 'api_not_found' });
  });

  it('keeps the compiled engine in sync with upserts and deletes', async () => {
    await post('/v1/store/secrets', { path: 'sync/x', values: { a: '1' } });
    const get = (): Promise<Reply> => post('/v1/store/secrets?action=get', { path: 'sync/x' }, ID.stranger);
    assert.equal((await get()).status, 401);
    await post(POLICY, {
      name: 'sync',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/stranger$',
      pathPattern: '^sync/.*$',
      permissions: ['read'],
    });
    assert.equal((await get()).status, 200);
    await post(POLICY, {
      name: 'sync',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/stranger$',
      pathPattern: '^elsewhere$',
      permissions: ['read'],
    });
    assert.equal((await get()).status, 401, 'replaced policy no longer grants');
    await post(POLICY, {
      name: 'sync',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/stranger$',
      pathPattern: '^sync/.*$',
      permissions: ['read'],
    });
    assert.equal((await get()).status, 200);
    await post(`${POLICY}?action=delete`, { id: 'sync' });
    assert.equal((await get()).status, 401, 'deleted policy no longer grants');
  });

  describe('invalid policies answer 400 and change nothing', () => {
    const ok = {
      name: 'bad',
      spiffeidPattern: '^spiffe://spike\\.ist/x$',
      pathPattern: '^a/.*$',
      permissions: ['read'],
    };
    const cases: [string, unknown][] = [
      ['malformed JSON', '{"name":'],
      ['only a name and an unknown __proto__ field', '{"name":"bad","__proto__":{"x":1}}'],
      ['permissions of the wrong type', { ...ok, permissions: 'read' }],
      ['name of the wrong type', { ...ok, name: 7 }],
      ['empty name', { ...ok, name: '' }],
      ['name with bad characters', { ...ok, name: 'bad/name' }],
      ['unknown permission', { ...ok, permissions: ['read', 'admin'] }],
      ['no permissions', { ...ok, permissions: [] }],
      ['SPIFFE pattern that is not a SPIFFE ID pattern', { ...ok, spiffeidPattern: '.*' }],
      ['invalid SPIFFE ID regex', { ...ok, spiffeidPattern: '^spiffe://spike\\.ist/(x$' }],
      ['invalid path regex', { ...ok, pathPattern: '^a/(b$' }],
      ['path pattern with bad characters', { ...ok, pathPattern: '^a b$' }],
      ['empty path pattern', { ...ok, pathPattern: '' }],
      ['path pattern over 500 characters', { ...ok, pathPattern: 'a'.repeat(501) }],
      ['pathological nested repetition', { ...ok, pathPattern: 'a{1000}{1000}' }],
      ['repeat count over 1000', { ...ok, pathPattern: '(a{999}){999}' }],
      [
        'reserved path with an imprecise SPIFFE pattern',
        { ...ok, spiffeidPattern: 'spiffe://spike\\.ist/x', pathPattern: '^spike/system/acl$' },
      ],
      [
        'reserved path reached by a substring pattern',
        { ...ok, spiffeidPattern: '^spiffe://spike\\.ist/x$', pathPattern: 'spike/system' },
      ],
      [
        'reserved cipher path reached by a prefix',
        { ...ok, spiffeidPattern: '^spiffe://spike\\.ist/x$', pathPattern: 'spike/system/cipher' },
      ],
      ['get with a bad id', null],
    ];
    for (const [name, body] of cases) {
      it(name, async () => {
        const before = await snapshot();
        const r =
          body === null ? await post(`${POLICY}?action=get`, { id: 'a/b' }) : await post(POLICY, body);
        assert.equal(r.status, 400);
        assert.deepEqual(
          r.json(),
          body === null ? { ...r.json(), err: 'api_bad_request' } : { err: 'api_bad_request' },
        );
        assert.deepEqual(await snapshot(), before);
      });
    }

    it('a catch-all pattern with super is still refused on reserved paths', async () => {
      const before = await snapshot();
      const r = await post(POLICY, {
        ...ok,
        spiffeidPattern: 'spiffe://spike\\.ist/.*',
        pathPattern: '.*',
        permissions: ['super'],
      });
      assert.equal(r.status, 400);
      assert.deepEqual(await snapshot(), before);
    });

    it('a precise policy on a reserved path is accepted', async () => {
      const r = await post(POLICY, {
        name: 'acl-admin',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/admin$',
        pathPattern: '^spike/system/acl$',
        permissions: ['write', 'read', 'list'],
      });
      assert.equal(r.status, 200);
    });
  });
});
