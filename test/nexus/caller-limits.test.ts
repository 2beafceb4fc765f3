/**
 * Per-caller limits over real mTLS: the request rate and the requests in flight of one SPIFFE ID
 * (429 `api_rate_limited` with `Retry-After`, audited with the caller) while other callers go on
 * being served; the per-caller connection cap; and audit records that name the caller of every
 * request after a verified handshake, also when the route does not exist.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closedWithin, openMany, openTls } from '../listeners/slow-clients.ts';
import { ID, call, createPki, startNexus, type Pki, type TestNexus } from './harness.ts';
import { ErrorCode, NEXUS_ROUTE_SPECS, routeTarget } from '@spike-ts/protocol';

const LIST = '/v1/store/secrets?action=list';

describe('per-caller request rate', () => {
  let pki: Pki;
  let t: TestNexus;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  before(async () => {
    pki = await createPki();
    // A clock of our own: the bucket refills only when we say so.
    t = await startNexus(pki, {
      env: { SPIKE_NEXUS_RATE_LIMIT_RPS: '2', SPIKE_NEXUS_RATE_LIMIT_BURST: '3' },
      now: () => clock,
    });
  });
  after(() => t.close());

  it('answers 429 api_rate_limited with Retry-After once a caller has used its burst, and audits it', async () => {
    const su = await pki.cert(ID.superuser);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await call(t.port, pki, { path: LIST, body: {}, client: su })).status);
    assert.deepEqual(statuses, [200, 200, 200]);

    const refused = await call(t.port, pki, { path: LIST, body: {}, client: su });
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.json(), { err: 'api_rate_limited' });
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(typeof refused.headers['x-request-id'], 'string');

    const rec = t.audit.records().at(-1);
    assert.equal(rec?.caller, ID.superuser);
    assert.equal(rec?.status, 429);
    assert.equal(rec?.err, 'api_rate_limited');
    assert.equal(rec?.route, '/v1/store/secrets');
    assert.equal(rec?.action, 'list');
    assert.equal(rec?.requestId, refused.headers['x-request-id']);
  });

  it('every Nexus route declares the 429 it answers over the limit (route table)', async () => {
    const su = await pki.cert(ID.superuser);
    // The superuser's bucket is empty: every route is refused before it is chosen.
    for (const spec of NEXUS_ROUTE_SPECS) {
      const r = await call(t.port, pki, { path: routeTarget(spec), body: spec.example, client: su });
      assert.equal(r.status, 429, spec.name);
      assert.deepEqual(r.json(), { err: ErrorCode.RateLimited }, spec.name);
      assert.equal(spec.errorField, 'err', spec.name);
      assert.ok(spec.errors.includes(ErrorCode.RateLimited), `${spec.name} does not declare the 429`);
    }
  });

  it('does not let one noisy caller take the others’ share', async () => {
    const lite = await pki.cert(ID.lite);
    // The superuser's bucket is empty; another SPIFFE ID still gets its full burst.
    assert.equal(
      (await call(t.port, pki, { path: LIST, body: {}, client: await pki.cert(ID.superuser) })).status,
      429,
    );
    for (let i = 0; i < 3; i++) {
      const r = await call(t.port, pki, {
        path: '/v1/store/secrets?action=get',
        body: { path: 'a/b' },
        client: lite,
      });
      assert.notEqual(r.status, 429, `lite request ${String(i)}`);
    }
  });

  it('refills at the configured rate', async () => {
    const su = await pki.cert(ID.superuser);
    clock += 500; // 2 per second: one token back
    assert.equal((await call(t.port, pki, { path: LIST, body: {}, client: su })).status, 200);
    assert.equal((await call(t.port, pki, { path: LIST, body: {}, client: su })).status, 429);
    clock += 10_000; // refills up to the burst, no further
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(t.port, pki, { path: LIST, body: {}, client: su })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
  });
});

describe('per-caller requests in flight', () => {
  let pki: Pki;
  let t: TestNexus;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { env: { SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY: '2' } });
  });
  after(() => t.close());

  it('refuses a third request while two of the same caller are still being received', async () => {
    const su = await pki.cert(ID.superuser);
    const tls = { caPem: pki.caPem, keyPem: su.keyPem, certPem: su.certPem };
    // Two requests whose bodies never finish: both are in flight.
    const held = await Promise.all([openTls(t.port, tls), openTls(t.port, tls)]);
    for (const s of held) {
      s.write(`POST ${LIST} HTTP/1.1\r\nHost: nexus\r\nContent-Length: 100\r\n\r\n{`);
    }
    await new Promise((r) => setTimeout(r, 200));
    const third = await call(t.port, pki, { path: LIST, body: {}, client: su });
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '1');
    // Another caller is not affected.
    const other = await call(t.port, pki, { path: LIST, body: {}, client: await pki.cert(ID.lite) });
    assert.notEqual(other.status, 429);
    // Once they are over, the caller is served again.
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await call(t.port, pki, { path: LIST, body: {}, client: su })).status, 200);
  });
});

describe('per-caller connection cap', () => {
  let pki: Pki;
  let t: TestNexus;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, {
      env: { SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER: '5', SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: '30s' },
    });
  });
  after(() => t.close());

  it('closes a caller’s connections above the cap at once, and serves other callers', async () => {
    const lite = await pki.cert(ID.lite);
    const { opened } = await openMany(
      20,
      () => openTls(t.port, { caPem: pki.caPem, keyPem: lite.keyPem, certPem: lite.certPem }),
      4,
    );
    const closed = await Promise.all(
      opened.map((s) =>
        closedWithin(s, Date.now(), 2000, 'over the cap').then(
          () => true,
          () => false,
        ),
      ),
    );
    // closedWithin destroyed the ones still open after 2 s; those were within the cap.
    assert.equal(closed.filter((c) => !c).length, 5);
    const su = await pki.cert(ID.superuser);
    assert.equal((await call(t.port, pki, { path: LIST, body: {}, client: su })).status, 200);
  });
});

describe('audit records after a verified handshake name the caller', () => {
  let pki: Pki;
  let t: TestNexus;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki);
  });
  after(() => t.close());

  for (const [what, path, method] of [
    ['an unknown action', '/v1/store/secrets?action=explode', 'POST'],
    ['an unknown route', '/v1/nothing/here', 'POST'],
    ['a known route with the wrong method', '/v1/store/secrets?action=get', 'GET'],
  ] as const) {
    it(what, async () => {
      const r = await call(t.port, pki, { path, method, body: {}, client: await pki.cert(ID.lite) });
      assert.equal(r.status, 400);
      const rec = t.audit.records().at(-1);
      assert.equal(rec?.caller, ID.lite);
      assert.equal(rec?.status, 400);
      assert.equal(rec?.err, 'api_bad_request');
    });
  }
});
