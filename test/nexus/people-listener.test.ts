/**
 * The people listener end to end in one process: a real Nexus with its mTLS port and its people
 * listener (HTTPS, bearer tokens), a stand-in OIDC issuer on loopback (keys made with jose), and
 * policies naming people and groups. The Keycloak suite repeats the essentials with a real IdP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  APPROVAL_REQUEST,
  AUTH_WHOAMI,
  NEXUS_ROUTE_SPECS,
  routeTarget,
  URL_APPROVALS,
} from '@spike-ts/protocol';
import type { PersonCaller } from '@spike-ts/core';
import { startTestIssuer, type TestIssuer } from '@spike-ts/nexus/testing';
import { ID, call, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';
import { peopleListenerEnv, testIssuerEntry } from './people-listener-env.ts';

// Approval routes other than `request` answer any person about requests that concern them (404
// for the example's unknown id): the approvals suite covers them.
const ROUTES = NEXUS_ROUTE_SPECS.filter(
  (spec) => spec !== AUTH_WHOAMI && (spec.path !== URL_APPROVALS || spec === APPROVAL_REQUEST),
).map((spec) => [routeTarget(spec), spec.example, spec.errorBody] as const);

describe('people listener', () => {
  let pki: Pki;
  let idp: TestIssuer;
  let t: TestNexus;
  let dir: string;
  let peoplePort: number;
  let mtls: (path: string, body: unknown, as: string, headers?: Record<string, string>) => Promise<Reply>;

  const asPerson = async (
    path: string,
    body: unknown,
    claims: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Reply> =>
    call(peoplePort, pki, {
      path,
      body,
      client: null,
      headers: { authorization: `Bearer ${await idp.token(claims)}`, ...headers },
    });
  const alice = { preferred_username: 'alice', groups: ['infra'] };
  const bob = { preferred_username: 'bob', groups: ['trustees'] };
  const carol = { preferred_username: 'carol', groups: ['auditors', 'infra'] };
  const dave = { preferred_username: 'dave', groups: [] };
  const root = { preferred_username: 'root', groups: ['admins'] };

  before(async () => {
    pki = await createPki();
    idp = await startTestIssuer();
    dir = await mkdtemp(join(tmpdir(), 'spx-people-'));
    const peopleEnv = await peopleListenerEnv(pki, dir, [testIssuerEntry(idp.issuer)]);
    t = await startNexus(pki, {
      env: {
        ...peopleEnv,
        SPIKE_NEXUS_AUDIT_LOG: join(dir, 'audit.log'),
      },
    });
    peoplePort = t.nexus.peopleAddress()?.port ?? 0;
    const c = client(t, pki);
    mtls = async (path, body, as, headers = {}) => c({ path, body, client: await pki.cert(as), headers });
    const put = async (path: string, body: unknown): Promise<void> => {
      const r = await mtls(path, body, ID.superuser);
      assert.equal(r.status, 200, `${path}: ${r.text}`);
    };
    await put('/v1/store/secrets', { path: 'infra/root-pw', values: { pw: 'infra-secret' } });
    await put('/v1/store/secrets', { path: 'trustees/master', values: { key: 'trustee-secret' } });
    await put('/v1/store/secrets', { path: 'system/db', values: { pw: 'system-secret' } });
    await put('/v1/store/secrets', { path: 'personal/alice/note', values: { n: 'alice-secret' } });
    const policy = (p: Record<string, unknown>) => put('/v1/acl/policy', { spiffeidPattern: '', ...p });
    await policy({ name: 'infra-read', groups: ['infra'], pathPattern: '^infra/.*$', permissions: ['read'] });
    await policy({
      name: 'trustees-rw',
      groups: ['trustees'],
      pathPattern: '^trustees/.*$',
      permissions: ['read', 'write'],
    });
    await policy({
      name: 'alice-own',
      people: ['user:alice'],
      pathPattern: '^personal/alice/.*$',
      permissions: ['super'],
    });
    await policy({
      name: 'reader-system',
      spiffeidPattern: 'spiffe://spike\\.ist/workload/reader',
      pathPattern: '^system/.*$',
      permissions: ['read'],
      workloadsOnly: true,
    });
    // People fields naming a workload's SPIFFE ID must not match that workload.
    await policy({
      name: 'not-for-workloads',
      people: [`user:${ID.stranger}`],
      groups: [ID.stranger],
      pathPattern: '^infra/.*$',
      permissions: ['super'],
    });
  });
  after(async () => {
    await t.close();
    await idp.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is off by default and is an HTTPS listener of its own when configured', () => {
    assert.ok(peoplePort > 0);
    assert.notEqual(peoplePort, t.port);
  });

  it('answers 401 to every route without a token, and audits the reason and the door', async () => {
    const before = await t.store.listPolicies();
    for (const [path, body, shape] of [...ROUTES, [routeTarget(AUTH_WHOAMI), {}, {}] as const]) {
      const r = await call(peoplePort, pki, { path, body, client: null });
      assert.equal(r.status, 401, path);
      assert.deepEqual(r.json(), { ...shape, err: 'access_unauthorized' }, path);
      const rec = t.audit.records().at(-1);
      assert.equal(rec?.door, 'people-api');
      assert.equal(rec?.reason, 'missing_token');
      assert.equal(rec?.caller, null);
    }
    const basic = await call(peoplePort, pki, {
      path: '/v1/store/secrets?action=list',
      body: {},
      client: null,
      headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' },
    });
    assert.equal(basic.status, 401);
    assert.equal(t.audit.records().at(-1)?.reason, 'not_a_bearer_token');
    const forged = await call(peoplePort, pki, {
      path: '/v1/store/secrets?action=get',
      body: { path: 'infra/root-pw' },
      client: null,
      headers: { authorization: `Bearer ${(await idp.token(alice)).slice(0, -3)}abc` },
    });
    assert.equal(forged.status, 401);
    assert.equal(t.audit.records().at(-1)?.reason, 'bad_signature');
    assert.deepEqual(await t.store.listPolicies(), before);
  });

  it('refuses a token on the mTLS port, even from the superuser', async () => {
    const token = await idp.token(root);
    const r = await mtls('/v1/store/secrets?action=get', { path: 'infra/root-pw' }, ID.superuser, {
      authorization: `Bearer ${token}`,
    });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json(), { data: null, err: 'access_unauthorized' });
    const rec = t.audit.records().at(-1);
    assert.equal(rec?.door, 'mtls');
    assert.equal(rec?.reason, 'token_on_mtls_port');
    // Without the header the same caller is served.
    assert.equal(
      (await mtls('/v1/store/secrets?action=get', { path: 'infra/root-pw' }, ID.superuser)).status,
      200,
    );
  });

  it('refuses an oversized header before any route runs', async () => {
    const r = await call(peoplePort, pki, {
      path: '/v1/auth/whoami',
      body: {},
      client: null,
      headers: { authorization: `Bearer ${'a'.repeat(20_000)}` },
    });
    assert.equal(r.status, 431);
  });

  it('whoami tells a person who they are through the people door', async () => {
    const r = await asPerson('/v1/auth/whoami', {}, carol);
    assert.equal(r.status, 200);
    assert.deepEqual(
      { ...r.json(), nexusVersion: undefined },
      {
        principal: 'user:carol',
        kind: 'person',
        groups: ['auditors', 'infra'],
        role: 'auditor',
        door: 'people-api',
        nexusVersion: undefined,
      },
    );
  });

  it('grants people by group and by name, and nothing else', async () => {
    const get = (path: string, who: Record<string, unknown>) =>
      asPerson('/v1/store/secrets?action=get', { path }, who);
    assert.deepEqual((await get('infra/root-pw', alice)).json(), { data: { pw: 'infra-secret' } });
    assert.equal((await get('trustees/master', alice)).status, 401);
    assert.equal((await get('personal/alice/note', alice)).status, 200);
    assert.equal((await get('infra/root-pw', bob)).status, 401);
    assert.equal((await get('trustees/master', bob)).status, 200);
    const write = await asPerson(
      '/v1/store/secrets',
      { path: 'trustees/master', values: { key: 'v2' } },
      bob,
    );
    assert.equal(write.status, 200);
    assert.equal(
      (await asPerson('/v1/store/secrets', { path: 'infra/x', values: { a: 'b' } }, alice)).status,
      401,
    );
    for (const path of ['infra/root-pw', 'trustees/master', 'personal/alice/note', 'system/db']) {
      assert.equal((await get(path, dave)).status, 401, path);
    }
    // A user named like a workload is not that workload: SPIFFE ID patterns never match people.
    const impostor = { preferred_username: 'spiffe://spike.ist/workload/reader', groups: [] };
    assert.equal((await get('system/db', impostor)).status, 401);
    // People fields never match workloads.
    assert.equal(
      (await mtls('/v1/store/secrets?action=get', { path: 'infra/root-pw' }, ID.stranger)).status,
      401,
    );
    const rec = t.audit.records().find((r) => r.principal === 'user:bob' && r.status === 200);
    assert.deepEqual(rec?.groups, ['trustees']);
    assert.equal(rec?.caller, 'user:bob');
  });

  it('admins act as superusers, except for values on workloads-only paths', async () => {
    assert.equal(
      (await asPerson('/v1/store/secrets?action=get', { path: 'trustees/master' }, root)).status,
      200,
    );
    assert.equal((await asPerson('/v1/store/secrets?action=list', {}, root)).status, 200);
    const policy = await asPerson(
      '/v1/acl/policy',
      {
        name: 'made-by-admin',
        spiffeidPattern: '',
        groups: ['x'],
        pathPattern: '^x/.*$',
        permissions: ['read'],
      },
      root,
    );
    assert.equal(policy.status, 200);
    assert.equal((await asPerson('/v1/store/secrets?action=get', { path: 'system/db' }, root)).status, 401);
    assert.equal(
      (await asPerson('/v1/store/secrets/metadata?action=get', { path: 'system/db' }, root)).status,
      200,
    );
    // The workload the policy names reads it.
    const reader = await mtls('/v1/store/secrets?action=get', { path: 'system/db' }, ID.reader);
    assert.deepEqual(reader.json(), { data: { pw: 'system-secret' } });
    // Recover, restore and bootstrap verify stay with their SPIFFE roles.
    for (const path of ['/v1/operator/recover', '/v1/operator/restore', '/v1/bootstrap/verify']) {
      const spec = NEXUS_ROUTE_SPECS.find((s) => routeTarget(s) === path);
      assert.equal((await asPerson(path, spec?.example, root)).status, 401, path);
    }
  });

  it('auditors list paths, read metadata and policies, and never a value', async () => {
    assert.equal((await asPerson('/v1/store/secrets?action=list', {}, carol)).status, 200);
    assert.equal(
      (await asPerson('/v1/store/secrets/metadata?action=get', { path: 'infra/root-pw' }, carol)).status,
      200,
    );
    assert.equal((await asPerson('/v1/acl/policy?action=list', {}, carol)).status, 200);
    assert.equal((await asPerson('/v1/acl/policy?action=get', { id: 'infra-read' }, carol)).status, 200);
    // carol is in `infra` too, whose policy grants read: the auditor role still reads no value.
    const value = await asPerson('/v1/store/secrets?action=get', { path: 'infra/root-pw' }, carol);
    assert.equal(value.status, 401);
    assert.ok(!value.text.includes('infra-secret'));
    assert.equal(
      (await asPerson('/v1/store/secrets', { path: 'infra/x', values: { a: 'b' } }, carol)).status,
      401,
    );
    assert.equal((await asPerson('/v1/acl/policy?action=delete', { id: 'infra-read' }, carol)).status, 401);
  });

  it('every route through the people door honours authorization: a person without grants gets 401', async () => {
    const before = await t.store.listPolicies();
    for (const [path, body, shape] of ROUTES) {
      const r = await asPerson(path, body, dave);
      assert.equal(r.status, 401, path);
      assert.deepEqual(r.json(), { ...shape, err: 'access_unauthorized' }, path);
      const rec = t.audit.records().at(-1);
      assert.equal(rec?.decision, 'denied', path);
      assert.equal(rec?.principal, 'user:dave');
    }
    assert.deepEqual(await t.store.listPolicies(), before);
  });

  it('policies keep their people fields on the wire and refuse contradictions', async () => {
    const got = await asPerson('/v1/acl/policy?action=get', { id: 'trustees-rw' }, root);
    assert.deepEqual(got.json().groups, ['trustees']);
    assert.equal(got.json().spiffeidPattern, '');
    const plain = await mtls('/v1/acl/policy?action=get', { id: 'reader-system' }, ID.superuser);
    assert.equal(plain.json().workloadsOnly, true);
    assert.equal('people' in plain.json(), false);
    const bad = [
      { name: 'b1', spiffeidPattern: '', pathPattern: '^a$', permissions: ['read'] },
      {
        name: 'b2',
        spiffeidPattern: '',
        groups: ['g'],
        workloadsOnly: true,
        pathPattern: '^a$',
        permissions: ['read'],
      },
      { name: 'b3', spiffeidPattern: '', people: ['alice'], pathPattern: '^a$', permissions: ['read'] },
      { name: 'b4', spiffeidPattern: '', groups: 'g', pathPattern: '^a$', permissions: ['read'] },
      {
        name: 'b5',
        spiffeidPattern: '',
        groups: ['g'],
        pathPattern: '^spike/system/acl$',
        permissions: ['super'],
      },
    ];
    for (const body of bad) {
      const r = await mtls('/v1/acl/policy', body, ID.superuser);
      assert.equal(r.status, body.name === 'b5' ? 200 : 400, body.name);
    }
  });

  it('answers the audit query to auditors with the door and the person of each record', async () => {
    // The harness keeps records in memory; the query reads the configured file.
    await writeFile(join(dir, 'audit.log'), t.audit.lines.join(''));
    const r = await asPerson(
      '/v1/audit?action=list',
      { principal: 'user:dave', decision: 'denied', limit: 5 },
      carol,
    );
    assert.equal(r.status, 200, r.text);
    const body = r.json() as {
      records: { caller: string; door: string; decision: string }[];
      truncated: boolean;
    };
    assert.equal(body.records.length, 5);
    assert.equal(body.truncated, true);
    assert.ok(
      body.records.every(
        (rec) => rec.caller === 'user:dave' && rec.door === 'people-api' && rec.decision === 'denied',
      ),
    );
    assert.equal((await asPerson('/v1/audit?action=list', {}, alice)).status, 401);
    assert.equal((await asPerson('/v1/audit?action=list', { decision: 'maybe' }, carol)).status, 400);
    assert.equal((await mtls('/v1/audit?action=list', {}, ID.superuser)).status, 200);
  });

  it('callAsPerson runs the same pipeline for the console door', async () => {
    const person = (name: string, groups: string[]): PersonCaller => ({
      kind: 'person',
      principal: `user:${name}`,
      groups,
      issuer: idp.issuer,
      role: 'user',
    });
    const ok = await t.nexus.callAsPerson(person('alice', ['infra']), 'console', '/v1/store/secrets', 'get', {
      path: 'infra/root-pw',
    });
    assert.deepEqual(ok, { status: 200, body: { data: { pw: 'infra-secret' } } });
    const rec = t.audit.records().at(-1);
    assert.equal(rec?.door, 'console');
    assert.equal(rec?.principal, 'user:alice');
    const denied = await t.nexus.callAsPerson(person('dave', []), 'console', '/v1/store/secrets', 'get', {
      path: 'infra/root-pw',
    });
    assert.deepEqual(denied, { status: 401, body: { data: null, err: 'access_unauthorized' } });
    const bad = await t.nexus.callAsPerson(
      person('alice', ['infra']),
      'console',
      '/v1/store/secrets',
      'get',
      {
        path: 5,
      },
    );
    assert.equal(bad.status, 400);
  });

  it('counts people-listener and console requests by the role of the person, never a name or group', async () => {
    const counts = (): Map<string, number> => {
      const json = t.nexus.metrics?.requests.json() ?? [];
      const family = json.find((m) => m.name === 'spike_nexus_requests_total');
      const out = new Map<string, number>();
      for (const v of family?.values ?? []) {
        if (v.labels.route !== '/v1/auth/whoami') continue;
        out.set(`${String(v.labels.status)} ${String(v.labels.role)}`, v.value);
      }
      return out;
    };
    const before = counts();
    const delta = (key: string): number => (counts().get(key) ?? 0) - (before.get(key) ?? 0);
    for (const who of [alice, root, carol]) {
      assert.equal((await asPerson('/v1/auth/whoami', {}, who)).status, 200);
    }
    assert.equal(
      (await call(peoplePort, pki, { path: '/v1/auth/whoami', body: {}, client: null })).status,
      401,
    );
    const viaConsole = await t.nexus.callAsPerson(
      { kind: 'person', principal: 'user:alice', groups: ['infra'], issuer: idp.issuer, role: 'user' },
      'console',
      '/v1/auth/whoami',
      '',
      {},
    );
    assert.equal(viaConsole.status, 200);
    assert.equal(delta('200 person'), 2, 'alice on the people listener and through the console');
    assert.equal(delta('200 person_admin'), 1);
    assert.equal(delta('200 person_auditor'), 1);
    assert.equal(delta('401 none'), 1);
    const labels = JSON.stringify(t.nexus.metrics?.requests.json());
    for (const word of ['alice', 'carol', 'user:', 'infra', 'auditors', 'admins']) {
      assert.equal(labels.includes(word), false, `metrics name ${word}`);
    }
  });

  it('mounts the console under /console/, the only place reachable without a token', async () => {
    t.nexus.mountConsole((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`console ${req.method} ${req.url}`);
    });
    const page = await call(peoplePort, pki, { method: 'GET', path: '/console/', client: null });
    assert.equal(page.text, 'console GET /console/');
    const login = await call(peoplePort, pki, { method: 'GET', path: '/console/login?x=1', client: null });
    assert.equal(login.status, 200);
    for (const path of [
      '/consolex',
      '/v1/store/secrets?action=list',
      '/console/../v1/store/secrets?action=list',
    ]) {
      const r = await call(peoplePort, pki, { path, body: {}, client: null });
      assert.notEqual(r.text.startsWith('console'), true, path);
    }
  });
});

describe('people listener limits', () => {
  it('rate-limits each person by principal, with the same settings as the mTLS port', async (t) => {
    const pki = await createPki();
    const idp = await startTestIssuer();
    const dir = await mkdtemp(join(tmpdir(), 'spx-people-limits-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    t.after(() => idp.close());
    const peopleEnv = await peopleListenerEnv(pki, dir, [{ issuer: idp.issuer, audience: 'spike-nexus' }]);
    const clock = Date.now();
    const n = await startNexus(pki, {
      now: () => clock,
      env: {
        ...peopleEnv,
        SPIKE_NEXUS_RATE_LIMIT_RPS: '1',
        SPIKE_NEXUS_RATE_LIMIT_BURST: '2',
      },
    });
    t.after(() => n.close());
    const port = n.nexus.peopleAddress()?.port ?? 0;
    const whoami = async (user: string): Promise<Reply> =>
      call(port, pki, {
        path: '/v1/auth/whoami',
        body: {},
        client: null,
        headers: { authorization: `Bearer ${await idp.token({ preferred_username: user })}` },
      });
    assert.equal((await whoami('alice')).status, 200);
    assert.equal((await whoami('alice')).status, 200);
    const third = await whoami('alice');
    assert.equal(third.status, 429);
    assert.deepEqual(third.json(), { err: 'api_rate_limited' });
    const rec = n.audit.records().at(-1);
    assert.deepEqual([rec?.caller, rec?.door, rec?.status], ['user:alice', 'people-api', 429]);
    assert.equal((await whoami('bob')).status, 200, 'another person has their own bucket');
    const requests = n.nexus.metrics?.requests.json().find((m) => m.name === 'spike_nexus_requests_total');
    const refused = requests?.values.find((v) => v.labels.status === '429');
    assert.deepEqual(refused?.labels, {
      route: '/v1/auth/whoami',
      action: 'default',
      status: '429',
      role: 'person',
    });
    assert.equal(refused?.value, 1);
  });
});
