/**
 * `GET /metrics` of an in-process Nexus over real mTLS traffic: what is counted (by route spec,
 * action, status and caller role), that Prometheus's own checker accepts the text, that no secret
 * path, policy name or pattern, value or request target ever appears in it (a canary), and that
 * `SPIKE_NEXUS_METRICS=off` removes the endpoint.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, createPki, ID, startNexus, type Pki, type TestNexus } from '../nexus/harness.ts';
import { promtool } from './promtool.ts';
import { sample, scrape, total } from './scrape-kit.ts';

describe('Nexus /metrics (in process, real mTLS)', () => {
  let pki: Pki;
  let t: TestNexus;
  let healthPort: number;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite', metricsMinIntervalMs: 0 });
    healthPort = t.nexus.healthAddress()?.port ?? 0;
  });
  after(() => t.close());

  const as = async (id: string, path: string, body: unknown) =>
    call(t.port, pki, { path, body, client: await pki.cert(id) });

  it('counts requests by route spec, action, status and role, and authorization decisions', async () => {
    const before = (await scrape(healthPort)).text;
    const reads = { route: '/v1/store/secrets', action: 'get', status: '200', role: 'superuser' };
    const denied = { route: '/v1/store/secrets', action: 'get', status: '401', role: 'workload' };
    assert.equal(
      (await as(ID.superuser, '/v1/store/secrets', { path: 'app/db', values: { u: 'x' } })).status,
      200,
    );
    for (let i = 0; i < 3; i++) {
      assert.equal((await as(ID.superuser, '/v1/store/secrets?action=get', { path: 'app/db' })).status, 200);
    }
    assert.equal((await as(ID.stranger, '/v1/store/secrets?action=get', { path: 'app/db' })).status, 401);
    assert.equal((await as(ID.lite, '/v1/cipher/encrypt', { plaintext: 'aGk=' })).status, 200);
    assert.equal((await as(ID.superuser, '/v1/no/such/route', {})).status, 400);

    const r = await scrape(healthPort);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const delta = (name: string, labels: Record<string, string>): number =>
      (sample(r.text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    assert.equal(delta('spike_nexus_requests_total', reads), 3);
    assert.equal(delta('spike_nexus_requests_total', denied), 1);
    assert.equal(
      delta('spike_nexus_requests_total', {
        route: '/v1/store/secrets',
        action: 'default',
        status: '200',
        role: 'superuser',
      }),
      1,
    );
    assert.equal(
      delta('spike_nexus_requests_total', {
        route: '/v1/cipher/encrypt',
        action: 'default',
        status: '200',
        role: 'lite_workload',
      }),
      1,
    );
    assert.equal(
      delta('spike_nexus_requests_total', {
        route: 'unknown',
        action: 'unknown',
        status: '400',
        role: 'superuser',
      }),
      1,
    );
    const decision = (d: string, role: string) => ({
      route: '/v1/store/secrets',
      action: 'get',
      decision: d,
      role,
    });
    assert.equal(delta('spike_nexus_authorization_decisions_total', decision('allowed', 'superuser')), 3);
    assert.equal(delta('spike_nexus_authorization_decisions_total', decision('denied', 'workload')), 1);
    assert.equal(
      delta('spike_nexus_request_duration_seconds_count', { route: '/v1/store/secrets', action: 'get' }),
      4,
    );
    assert.ok(
      total(r.text, 'spike_nexus_store_operation_duration_seconds_count', {
        operation: 'getSecretVersion',
      }) >= 3,
    );
    assert.equal(sample(r.text, 'spike_nexus_ready'), 1);
    assert.equal(sample(r.text, 'spike_nexus_root_key_installed'), 1);
    assert.equal(sample(r.text, 'spike_nexus_api_threads'), 1);
    assert.equal(sample(r.text, 'spike_nexus_damaged_rows', { table: 'secrets' }), 0);
  });

  it('the text passes `promtool check metrics` (format and Prometheus naming rules)', async () => {
    const r = await scrape(healthPort);
    const checked = await promtool(['check', 'metrics'], r.text);
    assert.equal(checked.code, 0, `promtool: ${checked.stdout}${checked.stderr}`);
    assert.equal(checked.stdout.trim(), '', checked.stdout);
  });

  it('never contains a secret path, value, policy name or pattern, or a request target (canary)', async () => {
    const canary = `canary${randomUUID().replaceAll('-', '')}`;
    const path = `tenants/${canary}/db`;
    assert.equal(
      (await as(ID.superuser, '/v1/store/secrets', { path, values: { [canary]: canary } })).status,
      200,
    );
    assert.equal((await as(ID.superuser, '/v1/store/secrets?action=get', { path })).status, 200);
    assert.equal((await as(ID.superuser, '/v1/store/secrets/metadata?action=get', { path })).status, 200);
    const policy = {
      name: `${canary}-readers`,
      spiffeIdPattern: `^spiffe://spike\\.ist/workload/${canary}$`,
      pathPattern: `^tenants/${canary}/.*$`,
      permissions: ['read'],
    };
    assert.equal((await as(ID.superuser, '/v1/acl/policy', policy)).status, 200);
    assert.equal((await as(ID.superuser, '/v1/acl/policy?action=get', { id: policy.name })).status, 200);
    // A caller whose SPIFFE ID carries the canary, granted by the policy, and one refused.
    const insider = `spiffe://spike.ist/workload/${canary}`;
    assert.equal((await as(insider, '/v1/store/secrets?action=get', { path })).status, 200);
    assert.equal((await as(insider, '/v1/store/secrets', { path, values: { a: 'b' } })).status, 401);
    // Targets that name no route: the canary in the path, in the action, in a malformed body.
    assert.equal((await as(ID.superuser, `/v1/store/secrets/${canary}`, {})).status, 400);
    assert.equal((await as(ID.superuser, `/v1/store/secrets?action=${canary}`, {})).status, 400);
    assert.equal((await as(ID.superuser, '/v1/store/secrets?action=get', `{"path":"${canary}`)).status, 400);
    assert.equal(
      (await as(ID.lite, '/v1/cipher/encrypt', { plaintext: Buffer.from(canary).toString('base64') })).status,
      200,
    );

    // The canary did reach Nexus (the audit trail names the path and the policy) ...
    const audited = t.audit.lines.join('');
    assert.ok(audited.includes(path) && audited.includes(policy.name), 'the canary was not sent at all');
    // ... and the metrics say nothing of it.
    const r = await scrape(healthPort);
    assert.equal(r.status, 200);
    assert.ok(r.text.length > 1000, 'an empty scrape proves nothing');
    assert.ok(!r.text.includes(canary), 'the canary leaked into /metrics');
    assert.ok(!r.text.includes('tenants'), 'a secret path leaked into /metrics');
  });
});

describe('Nexus /metrics turned off', () => {
  it('SPIKE_NEXUS_METRICS=off: no endpoint (404), health and readiness unchanged', async () => {
    const pki = await createPki();
    const t = await startNexus(pki, { env: { SPIKE_NEXUS_METRICS: 'off' } });
    try {
      const port = t.nexus.healthAddress()?.port ?? 0;
      assert.equal(t.nexus.metrics, undefined);
      assert.equal((await scrape(port)).status, 404);
      assert.equal((await scrape(port, '/readyz')).status, 200);
    } finally {
      await t.close();
    }
  });
});
