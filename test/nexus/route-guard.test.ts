import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:tls';
import {
  APPROVAL_CANCEL,
  APPROVAL_GET,
  APPROVAL_LIST,
  AUTH_WHOAMI,
  NEXUS_ROUTE_SPECS,
  routeTarget,
} from '@spike-ts/protocol';
import { ID, call, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

/**
 * Every Nexus route from the route table: a request that decodes, and the zeroed shape of its
 * errors. `whoami` tells any verified caller who it is (and nothing else), and the approval
 * get, cancel and list answer any caller about its own requests only, so they are tested apart.
 */
const OPEN_TO_ANY_CALLER: readonly unknown[] = [AUTH_WHOAMI, APPROVAL_GET, APPROVAL_CANCEL, APPROVAL_LIST];
const ROUTES: [path: string, body: unknown, shape: Readonly<Record<string, unknown>>][] =
  NEXUS_ROUTE_SPECS.filter((spec) => !OPEN_TO_ANY_CALLER.includes(spec)).map((spec) => [
    routeTarget(spec),
    spec.example,
    spec.errorBody,
  ]);
/** The secret and policy routes (denied to the lite workload whatever the policies say). */
const SECRET_AND_POLICY_ROUTES = ROUTES.filter(
  ([path]) => path.startsWith('/v1/store/') || path.startsWith('/v1/acl/'),
);

describe('route guards', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (path: string, body: unknown, as: string, method?: string) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { env: { SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE: '2048' } });
    const c = client(t, pki);
    send = async (path, body, as, method) =>
      c({ path, body, client: await pki.cert(as), ...(method === undefined ? {} : { method }) });
    // Something to protect.
    await send('/v1/store/secrets', { path: 'guard/x', values: { k: 'v' } }, ID.superuser);
    await send(
      '/v1/acl/policy',
      {
        name: 'guard',
        spiffeidPattern: '^spiffe://spike\\.ist/nobody$',
        pathPattern: '^guard/.*$',
        permissions: ['read'],
      },
      ID.superuser,
    );
  });
  after(() => t.close());

  const snapshot = async (): Promise<unknown> => ({
    secrets: await Promise.all((await t.store.listSecretPaths()).map((p) => t.store.getSecret(p))),
    policies: await t.store.listPolicies(),
  });

  it('every route denies a stranger with 401 and an audit record that says denied', async () => {
    const before = await snapshot();
    for (const [path, body, shape] of ROUTES) {
      const r = await send(path, body, ID.stranger);
      assert.equal(r.status, 401, path);
      assert.deepEqual(r.json(), { ...shape, err: 'access_unauthorized' }, path);
      const rec = t.audit.records().at(-1);
      assert.equal(rec?.requestId, r.headers['x-request-id']);
      assert.equal(rec?.caller, ID.stranger);
      assert.equal(rec?.decision, 'denied');
      assert.equal(rec?.status, 401);
      assert.equal(rec?.err, 'access_unauthorized');
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('the lite workload is denied every secret and policy route even with a granting policy', async () => {
    await send(
      '/v1/acl/policy',
      {
        name: 'lite-grant',
        spiffeidPattern: '^spiffe://spike\\.ist/spike/workload/role/lite$',
        pathPattern: '^guard/.*$',
        permissions: ['super'],
      },
      ID.superuser,
    );
    assert.equal(SECRET_AND_POLICY_ROUTES.length, 10);
    for (const [path, body] of SECRET_AND_POLICY_ROUTES) {
      const r = await send(path, body, ID.lite);
      assert.equal(r.status, 401, path);
    }
  });

  it('a stranger cannot tell existing from missing secrets or policies', async () => {
    const a = await send('/v1/store/secrets?action=get', { path: 'guard/x' }, ID.stranger);
    const b = await send('/v1/store/secrets?action=get', { path: 'guard/missing' }, ID.stranger);
    const c = await send('/v1/store/secrets?action=get', { path: 'bad path!' }, ID.stranger);
    assert.deepEqual([a.status, b.status, c.status], [401, 401, 401]);
    assert.equal(a.text, b.text);
    assert.equal(b.text, c.text);
  });

  it('unknown routes, unknown actions, trailing slashes and other methods are 400', async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['POST', '/v1/store/secrets?action=check', { err: 'api_bad_request' }],
      ['POST', '/v1/store/secrets?action=read', { err: 'api_bad_request' }],
      ['POST', '/v1/store/secrets/', { err: 'api_bad_request' }],
      ['POST', '/v1/nothing', { err: 'api_bad_request' }],
      ['POST', '/v1/cipher/encrypt?action=get', { err: 'api_bad_request' }],
      ['POST', '/v1/auth/initialization?action=check', { err: 'api_bad_request' }],
      ['GET', '/v1/store/secrets?action=get', { data: null, err: 'api_bad_request' }],
      ['PUT', '/v1/store/secrets', { err: 'api_bad_request' }],
      ['DELETE', '/v1/acl/policy?action=delete', { err: 'api_bad_request' }],
      ['GET', '/healthz', { err: 'api_bad_request' }],
    ];
    for (const [method, path, body] of cases) {
      const r = await send(path, method === 'GET' ? undefined : { path: 'guard/x' }, ID.superuser, method);
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.deepEqual(r.json(), body, `${method} ${path}`);
      assert.equal(r.headers['cache-control'], 'no-store, no-cache, must-revalidate, private');
    }
  });

  it('refuses a client without a certificate', async () => {
    await assert.rejects(
      call(t.port, pki, { path: '/v1/store/secrets?action=list', body: {}, client: null }),
    );
  });

  it('refuses a certificate from another trust domain', async () => {
    await assert.rejects(
      call(t.port, pki, { path: '/v1/store/secrets?action=list', body: {}, client: await pki.foreignCert() }),
    );
  });

  it('refuses plain HTTP on the TLS port', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: t.port, method: 'POST', path: '/v1/store/secrets?action=list' },
          resolve,
        );
        req.on('error', reject);
        req.end('{}');
      }),
    );
  });

  it('refuses TLS versions below 1.3', async () => {
    const cert = await pki.cert(ID.superuser);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = connect({
          host: '127.0.0.1',
          port: t.port,
          ca: pki.caPem,
          key: cert.keyPem,
          cert: cert.certPem,
          maxVersion: 'TLSv1.2',
          checkServerIdentity: () => undefined,
        });
        s.on('secureConnect', () => {
          s.destroy();
          resolve(undefined);
        });
        s.on('error', reject);
      }),
    );
  });

  it('answers 413 for bodies over the limit, declared or streamed, before authorization', async () => {
    const big = { path: 'guard/x', values: { k: 'v'.repeat(4000) } };
    for (const as of [ID.superuser, ID.stranger]) {
      const r = await send('/v1/store/secrets', big, as);
      assert.equal(r.status, 413);
      assert.deepEqual(r.json(), { err: 'api_body_too_large' });
    }
    const cert = await pki.cert(ID.superuser);
    const chunked = await call(t.port, pki, {
      path: '/v1/store/secrets',
      body: big,
      client: cert,
      chunked: true,
    });
    assert.equal(chunked.status, 413);
    assert.equal(chunked.headers.connection, 'close');
    // Cipher routes authorize before reading the body: a stranger learns 401, not 413.
    const bigPlain = { plaintext: Buffer.alloc(3000).toString('base64') };
    assert.equal((await send('/v1/cipher/encrypt', bigPlain, ID.stranger)).status, 401);
    const enc = await send(
      '/v1/cipher/encrypt',
      { plaintext: Buffer.alloc(3000).toString('base64') },
      ID.superuser,
    );
    assert.equal(enc.status, 413);
    assert.deepEqual(enc.json(), { version: 0, nonce: null, ciphertext: null, err: 'api_body_too_large' });
    assert.deepEqual((await send('/v1/store/secrets?action=get', { path: 'guard/x' }, ID.superuser)).json(), {
      data: { k: 'v' },
    });
  });

  it('the approval get, cancel and list tell a stranger nothing: no request is its own', async () => {
    const list = await send(routeTarget(APPROVAL_LIST), {}, ID.stranger);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json(), { requests: [] });
    for (const spec of [APPROVAL_GET, APPROVAL_CANCEL]) {
      const r = await send(routeTarget(spec), spec.example, ID.stranger);
      assert.equal(r.status, 404, spec.name);
      assert.deepEqual(r.json(), { err: 'api_not_found' });
    }
  });

  it('whoami answers a verified stranger about itself only, with its SPIFFE ID and no role', async () => {
    const r = await send(routeTarget(AUTH_WHOAMI), {}, ID.stranger);
    assert.equal(r.status, 200);
    const body = r.json();
    assert.deepEqual(
      { ...body, nexusVersion: undefined },
      {
        principal: ID.stranger,
        kind: 'workload',
        groups: [],
        role: 'workload',
        door: 'mtls',
        nexusVersion: undefined,
      },
    );
    const su = (await send(routeTarget(AUTH_WHOAMI), {}, ID.superuser)).json();
    assert.equal(su.role, 'superuser');
  });

  it('writes one audit record per request with who, what, where and the outcome', async () => {
    const r = await send('/v1/store/secrets?action=get', { path: 'guard/x' }, ID.superuser);
    const rec = t.audit.records().at(-1);
    const chained = rec as unknown as { seq?: number; prev?: string };
    assert.deepEqual(
      { ...rec, time: undefined, durationMs: undefined, seq: undefined, prev: undefined },
      {
        time: undefined,
        requestId: r.headers['x-request-id'],
        caller: ID.superuser,
        door: 'mtls',
        route: '/v1/store/secrets',
        action: 'get',
        path: 'guard/x',
        decision: 'allowed',
        status: 200,
        durationMs: undefined,
        seq: undefined,
        prev: undefined,
      },
    );
    assert.equal(typeof rec?.durationMs, 'number');
    // The audit chain's fields (ADR 0040): a line count and the previous line's SHA-256.
    assert.ok(Number.isSafeInteger(chained.seq));
    assert.match(chained.prev ?? '', /^[0-9a-f]{64}$/);
    assert.ok(!Number.isNaN(Date.parse(rec?.time ?? '')));

    await send('/v1/acl/policy?action=get', { id: 'guard' }, ID.superuser);
    assert.equal(t.audit.records().at(-1)?.policy, 'guard');
    await send('/v1/nothing', {}, ID.superuser);
    assert.deepEqual(
      (({ route, decision, status, err }) => ({ route, decision, status, err }))(
        t.audit.records().at(-1) ?? ({} as never),
      ),
      { route: '/v1/nothing', decision: 'none', status: 400, err: 'api_bad_request' },
    );
  });

  it('never writes secret values into the audit or the operational log', async () => {
    const marker = 'TOP-SECRET-VALUE-91c2';
    await send('/v1/store/secrets', { path: 'guard/marker', values: { password: marker } }, ID.superuser);
    await send('/v1/store/secrets?action=get', { path: 'guard/marker' }, ID.superuser);
    await send('/v1/store/secrets', { path: 'guard/marker', values: { password: marker } }, ID.stranger);
    await send('/v1/store/secrets', `{"path":"guard/marker","values":{"password":"${marker}"`, ID.superuser);
    await send('/v1/store/secrets', { path: 'guard/marker', values: { 'bad key!': marker } }, ID.superuser);
    await send('/v1/store/secrets', { path: 'guard/marker', values: { password: [marker] } }, ID.superuser);
    const lines = t.audit.lines.join('');
    assert.ok(lines.includes('guard/marker'), 'the path is recorded');
    assert.ok(!lines.includes(marker), 'the value is not');
    assert.ok(t.logs.length > 0);
    assert.ok(!t.logs.join('').includes(marker), 'nor in the operational log');
  });
});

describe('health listener and readiness', () => {
  it('reports not ready on a locked sqlite store and ready after the root key arrives', async () => {
    const pki = await createPki();
    const t = await startNexus(pki, {
      backend: 'sqlite',
      rootKey: null,
      env: { SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE: '2048' },
    });
    try {
      const health = t.nexus.healthAddress();
      assert.ok(health !== null);
      const get = (path: string): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: health.port, path }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        });
      assert.deepEqual(await get('/healthz'), { status: 200, body: '{"status":"ok"}' });
      assert.deepEqual(await get('/readyz'), { status: 503, body: '{"ready":false}' });
      const r = await call(t.port, pki, {
        path: '/v1/store/secrets?action=list',
        body: {},
        client: await pki.cert(ID.superuser),
      });
      assert.equal(r.status, 503);
      assert.deepEqual(r.json(), { keys: null, err: 'state_not_ready' });
      // The gate comes before the body is read: 503, not 413.
      const big = await call(t.port, pki, {
        path: '/v1/store/secrets',
        body: { path: 'a', values: { v: 'x'.repeat(4000) } },
        client: await pki.cert(ID.superuser),
      });
      assert.equal(big.status, 503);
      await t.nexus.state.installRootKey(new Uint8Array(32).fill(9));
      assert.deepEqual(await get('/readyz'), { status: 200, body: '{"ready":true}' });
      const ok = await call(t.port, pki, {
        path: '/v1/store/secrets?action=list',
        body: {},
        client: await pki.cert(ID.superuser),
      });
      assert.deepEqual(ok.json(), { keys: [] });
    } finally {
      await t.close();
    }
  });
});
