import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ID, client, createPki, startNexus, type Pki, type TestNexus, type Reply } from './harness.ts';

const SECRETS = '/v1/store/secrets';

describe('secret routes', () => {
  let pki: Pki;
  let t: TestNexus;
  let post: (path: string, body: unknown, as?: string) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, {
      env: { SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE: '4096', SPIKE_NEXUS_MAX_SECRET_VERSIONS: '3' },
    });
    const c = client(t, pki);
    post = async (path, body, as = ID.superuser) => c({ path, body, client: await pki.cert(as) });
  });
  after(() => t.close());

  /** Everything the store holds, to prove a rejected request changed nothing. */
  const snapshot = async (): Promise<unknown> => {
    const paths = await t.store.listSecretPaths();
    return Promise.all(paths.map(async (p) => [p, await t.store.getSecret(p)]));
  };

  it('put, get, versions, list and metadata (happy path)', async () => {
    let r = await post(SECRETS, { path: 'app/db/creds', values: { username: 'admin', password: 'pw-1' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {});
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['cache-control'], 'no-store, no-cache, must-revalidate, private');
    assert.equal(r.headers.pragma, 'no-cache');
    assert.equal(r.headers.expires, '0');
    assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);

    r = await post(SECRETS, { path: 'app/db/creds', values: { username: 'admin', password: 'pw-2' } });
    assert.equal(r.status, 200);
    r = await post(SECRETS, { path: 'aaa/first', values: {} });
    assert.equal(r.status, 200);

    r = await post(`${SECRETS}?action=get`, { path: 'app/db/creds' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { data: { username: 'admin', password: 'pw-2' } });
    r = await post(`${SECRETS}?action=get`, { path: 'app/db/creds', version: 1 });
    assert.deepEqual(r.json(), { data: { username: 'admin', password: 'pw-1' } });
    r = await post(`${SECRETS}?action=get`, { path: 'aaa/first', version: 0 });
    assert.deepEqual(r.json(), { data: {} });

    r = await post(`${SECRETS}?action=list`, {});
    assert.deepEqual(r.json(), { keys: ['aaa/first', 'app/db/creds'] });

    r = await post('/v1/store/secrets/metadata?action=get', { path: 'app/db/creds' });
    assert.equal(r.status, 200);
    const body = r.json() as {
      versions: Record<string, { version: number; createdTime: string; deletedTime: string | null }>;
      metadata: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(body.versions).sort(), ['1', '2']);
    assert.equal(body.versions['1']?.version, 1);
    assert.equal(body.versions['2']?.version, 2);
    assert.equal(body.versions['2']?.deletedTime, null);
    assert.match(body.versions['1']?.createdTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(body.metadata.currentVersion, 2);
    assert.equal(body.metadata.oldestVersion, 1);
    assert.equal(body.metadata.maxVersions, 3);
  });

  it('prunes to SPIKE_NEXUS_MAX_SECRET_VERSIONS', async () => {
    for (let i = 1; i <= 5; i++) {
      assert.equal((await post(SECRETS, { path: 'prune/me', values: { v: String(i) } })).status, 200);
    }
    const r = await post('/v1/store/secrets/metadata?action=get', { path: 'prune/me' });
    assert.deepEqual(Object.keys((r.json() as { versions: object }).versions).sort(), ['3', '4', '5']);
    const old = await post(`${SECRETS}?action=get`, { path: 'prune/me', version: 1 });
    assert.equal(old.status, 404);
  });

  it('delete and undelete versions', async () => {
    await post(SECRETS, { path: 'del/x', values: { a: '1' } });
    await post(SECRETS, { path: 'del/x', values: { a: '2' } });
    let r = await post(`${SECRETS}?action=delete`, { path: 'del/x' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {});
    r = await post(`${SECRETS}?action=get`, { path: 'del/x' });
    assert.deepEqual(r.json(), { data: { a: '1' } }, 'current falls back to the highest live version');
    r = await post(`${SECRETS}?action=get`, { path: 'del/x', version: 2 });
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { data: null, err: 'api_not_found' });

    r = await post(`${SECRETS}?action=delete`, { path: 'del/x', versions: [1] });
    assert.equal(r.status, 200);
    r = await post(`${SECRETS}?action=get`, { path: 'del/x' });
    assert.equal(r.status, 404);
    r = await post('/v1/store/secrets/metadata?action=get', { path: 'del/x' });
    assert.equal(r.status, 404);
    // SPIKE's shape: no `versions` (Go omits the empty map), `metadata` zeroed, then `err`.
    assert.equal(
      r.text,
      '{"metadata":{"currentVersion":0,"oldestVersion":0,"createdTime":"0001-01-01T00:00:00Z",' +
        '"updatedTime":"0001-01-01T00:00:00Z","maxVersions":0},"err":"api_not_found"}',
    );
    // Still listed: SPIKE lists every path, deleted or not.
    r = await post(`${SECRETS}?action=list`, {});
    assert.ok((r.json().keys as string[]).includes('del/x'));

    r = await post(`${SECRETS}?action=undelete`, { path: 'del/x', versions: [2] });
    assert.equal(r.status, 200);
    r = await post(`${SECRETS}?action=get`, { path: 'del/x' });
    assert.deepEqual(r.json(), { data: { a: '2' } });
    r = await post(`${SECRETS}?action=undelete`, { path: 'del/x', versions: [2] });
    assert.equal(r.status, 404, 'nothing to undelete');
  });

  it('unknown secrets are 404 for every route that names one', async () => {
    for (const [path, body] of [
      [`${SECRETS}?action=get`, { path: 'no/such' }],
      [`${SECRETS}?action=delete`, { path: 'no/such' }],
      [`${SECRETS}?action=undelete`, { path: 'no/such' }],
      ['/v1/store/secrets/metadata?action=get', { path: 'no/such' }],
    ] as const) {
      const r = await post(path, body);
      assert.equal(r.status, 404, path);
      assert.equal(r.json().err, 'api_not_found');
    }
  });

  describe('bad input answers 400/413 and changes nothing', () => {
    const cases: [name: string, path: string, body: unknown, status: number][] = [
      ['malformed JSON', SECRETS, '{"path":"x",', 400],
      ['not an object', SECRETS, '[1,2]', 400],
      ['path of the wrong type', SECRETS, { path: 5, values: {} }, 400],
      ['values of the wrong type', SECRETS, { path: 'x/y', values: ['a'] }, 400],
      ['a non-string value', SECRETS, { path: 'x/y', values: { a: 1 } }, 400],
      [
        'an object under a __proto__ key',
        SECRETS,
        '{"path":"x/y","values":{"__proto__":{"polluted":"1"}}}',
        400,
      ],
      ['empty path', SECRETS, { path: '', values: { a: 'b' } }, 400],
      ['missing path', SECRETS, { values: { a: 'b' } }, 400],
      ['path over 500 characters', SECRETS, { path: 'p'.repeat(501), values: { a: 'b' } }, 400],
      ['path with a space', SECRETS, { path: 'a b', values: { a: 'b' } }, 400],
      ['path with a colon', SECRETS, { path: 'a:b', values: { a: 'b' } }, 400],
      ['key name with =', SECRETS, { path: 'x/y', values: { 'a=b': 'c' } }, 400],
      ['key name with a dot', SECRETS, { path: 'x/y', values: { 'a.b': 'c' } }, 400],
      ['empty key name', SECRETS, { path: 'x/y', values: { '': 'c' } }, 400],
      ['key name over 250 characters', SECRETS, { path: 'x/y', values: { ['k'.repeat(251)]: 'c' } }, 400],
      ['body over the limit', SECRETS, { path: 'x/y', values: { a: 'v'.repeat(5000) } }, 413],
      ['negative version', `${SECRETS}?action=get`, { path: 'app/db/creds', version: -1 }, 400],
      ['fractional version', `${SECRETS}?action=get`, { path: 'app/db/creds', version: 1.5 }, 400],
      ['version as a string', `${SECRETS}?action=get`, { path: 'app/db/creds', version: '1' }, 400],
      [
        'negative version in a list',
        `${SECRETS}?action=delete`,
        { path: 'app/db/creds', versions: [-1] },
        400,
      ],
      ['versions not a list', `${SECRETS}?action=delete`, { path: 'app/db/creds', versions: 1 }, 400],
      ['undelete with a bad path', `${SECRETS}?action=undelete`, { path: 'a b' }, 400],
      [
        'metadata with a bad version',
        '/v1/store/secrets/metadata?action=get',
        { path: 'x', version: -3 },
        400,
      ],
    ];
    for (const [name, path, body, status] of cases) {
      it(name, async () => {
        await post(SECRETS, { path: 'app/db/creds', values: { username: 'admin', password: 'pw-2' } });
        const before = await snapshot();
        const r = await post(path, body);
        assert.equal(r.status, status);
        assert.equal(r.json().err, status === 413 ? 'api_body_too_large' : 'api_bad_request');
        assert.deepEqual(await snapshot(), before);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      });
    }
  });
});

describe('secret routes on sqlite', () => {
  let pki: Pki;
  let t: TestNexus;
  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite' });
  });
  after(() => t.close());

  it('stores, reads back and keys metadata by the real version numbers', async () => {
    const c = client(t, pki);
    const su = await pki.cert(ID.superuser);
    for (const v of ['one', 'two', 'three']) {
      const r = await c({ path: SECRETS, body: { path: 'sql/x', values: { v } }, client: su });
      assert.equal(r.status, 200);
    }
    let r = await c({ path: `${SECRETS}?action=get`, body: { path: 'sql/x', version: 2 }, client: su });
    assert.deepEqual(r.json(), { data: { v: 'two' } });
    r = await c({ path: '/v1/store/secrets/metadata?action=get', body: { path: 'sql/x' }, client: su });
    const versions = (r.json() as { versions: Record<string, { version: number }> }).versions;
    assert.deepEqual(Object.keys(versions).sort(), ['1', '2', '3']);
    for (const [k, v] of Object.entries(versions)) assert.equal(String(v.version), k);
  });
});
