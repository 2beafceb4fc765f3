/**
 * People end to end with real components: Keycloak (the `spike` realm of test/fixtures/keycloak),
 * the dev identity issuer for SVIDs, and `bin/spike-nexus.js` with SQLite, two API threads and
 * the people listener. Tokens come from Keycloak by the password grant; policies name groups.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DevIssuer } from '@spike-ts/dev-identity';
import { call, type ClientCert, type Pki, type Reply } from '../nexus/harness.ts';
import { killAll } from '../nexus/processes.ts';
import { startKeycloak, type Keycloak } from '../support/keycloak.ts';
import { startPeopleNexus } from '../support/people-nexus.ts';

describe('people through Keycloak and a spike-nexus process', { timeout: 600_000 }, () => {
  let dir: string;
  let kc: Keycloak;
  let issuer: DevIssuer;
  let trust: Pki;
  let peopleTrust: Pki;
  let port: number;
  let peoplePort: number;
  const certs: Record<string, ClientCert> = {};

  const asUser = async (user: string, path: string, body: unknown): Promise<Reply> => {
    const token = (await kc.passwordToken(user)).access_token;
    return call(peoplePort, peopleTrust, {
      path,
      body,
      client: null,
      headers: { authorization: `Bearer ${token}` },
    });
  };
  const withToken = (token: string, path: string, body: unknown): Promise<Reply> =>
    call(peoplePort, peopleTrust, {
      path,
      body,
      client: null,
      headers: { authorization: `Bearer ${token}` },
    });
  const asPilot = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
    call(port, trust, { path, body, client: certs.pilot as ClientCert, headers });

  before(async () => {
    dir = await mkdtemp('/tmp/spx-kc-');
    kc = await startKeycloak();
    const started = await startPeopleNexus({
      dir,
      keycloak: kc,
      identities: ['demo'],
      env: { SPIKE_NEXUS_API_THREADS: '2' },
    });
    ({ issuer, trust, peopleTrust, port, peoplePort } = started);
    Object.assign(certs, started.certs);
    const put = started.putAsPilot;
    await put('/v1/store/secrets', { path: 'infra/root-pw', values: { pw: 'infra-secret' } });
    await put('/v1/store/secrets', { path: 'cloud/master', values: { key: 'trustee-secret' } });
    await put('/v1/store/secrets', { path: 'system/db', values: { pw: 'system-secret' } });
    const policy = (p: Record<string, unknown>) => put('/v1/acl/policy', { spiffeidPattern: '', ...p });
    await policy({ name: 'infra-read', groups: ['infra'], pathPattern: '^infra/.*$', permissions: ['read'] });
    await policy({
      name: 'trustees',
      groups: ['trustees'],
      pathPattern: '^cloud/.*$',
      permissions: ['read', 'write'],
    });
    await policy({
      name: 'infra-auditors',
      groups: ['auditors'],
      pathPattern: '^infra/.*$',
      permissions: ['read'],
    });
    await policy({
      name: 'system-only',
      spiffeidPattern: `^${certs.demo?.id.replaceAll('.', '\\.') ?? ''}$`,
      pathPattern: '^system/.*$',
      permissions: ['read'],
      workloadsOnly: true,
    });
  });

  after(async () => {
    await killAll();
    await issuer?.close();
    await kc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('allows and denies people by their Keycloak groups', async () => {
    const get = (user: string, path: string) => asUser(user, '/v1/store/secrets?action=get', { path });
    assert.deepEqual((await get('alice', 'infra/root-pw')).json(), { data: { pw: 'infra-secret' } });
    assert.equal((await get('alice', 'cloud/master')).status, 401);
    assert.equal((await get('bob', 'infra/root-pw')).status, 401);
    assert.deepEqual((await get('bob', 'cloud/master')).json(), { data: { key: 'trustee-secret' } });
    assert.equal(
      (await asUser('bob', '/v1/store/secrets', { path: 'cloud/master', values: { key: 'v2' } })).status,
      200,
    );
    for (const path of ['infra/root-pw', 'cloud/master', 'system/db']) {
      assert.equal((await get('dave', path)).status, 401, path);
    }
    const who = await asUser('alice', '/v1/auth/whoami', {});
    assert.deepEqual(
      { ...who.json(), nexusVersion: undefined },
      {
        principal: 'user:alice',
        kind: 'person',
        groups: ['infra'],
        role: 'user',
        door: 'people-api',
        nexusVersion: undefined,
      },
    );
  });

  it('makes the admin group superusers, except for values on workloads-only paths', async () => {
    assert.equal(
      (await asUser('erin', '/v1/store/secrets?action=get', { path: 'infra/root-pw' })).status,
      200,
    );
    assert.equal((await asUser('erin', '/v1/store/secrets?action=list', {})).status, 200);
    const made = await asUser('erin', '/v1/acl/policy', {
      name: 'by-erin',
      spiffeidPattern: '',
      groups: ['infra'],
      pathPattern: '^team/.*$',
      permissions: ['read'],
    });
    assert.equal(made.status, 200, made.text);
    assert.equal((await asUser('erin', '/v1/store/secrets?action=get', { path: 'system/db' })).status, 401);
    const demo = await call(port, trust, {
      path: '/v1/store/secrets?action=get',
      body: { path: 'system/db' },
      client: certs.demo as ClientCert,
    });
    assert.deepEqual(demo.json(), { data: { pw: 'system-secret' } });
  });

  it('lets auditors see metadata, policies and the audit log, never a value', async () => {
    // carol's group has a policy granting read on infra/: the auditor role still reads no value.
    const value = await asUser('carol', '/v1/store/secrets?action=get', { path: 'infra/root-pw' });
    assert.equal(value.status, 401);
    assert.ok(!value.text.includes('infra-secret'));
    assert.equal(
      (await asUser('carol', '/v1/store/secrets/metadata?action=get', { path: 'infra/root-pw' })).status,
      200,
    );
    assert.equal((await asUser('carol', '/v1/store/secrets?action=list', {})).status, 200);
    assert.equal((await asUser('carol', '/v1/acl/policy?action=list', {})).status, 200);
    const audit = await asUser('carol', '/v1/audit?action=list', {
      principal: 'user:dave',
      decision: 'denied',
    });
    assert.equal(audit.status, 200, audit.text);
    const records = (audit.json() as { records: { door: string; groups: string[] }[] }).records;
    assert.ok(records.length >= 3);
    assert.ok(records.every((r) => r.door === 'people-api' && Array.isArray(r.groups)));
    assert.equal((await asUser('alice', '/v1/audit?action=list', {})).status, 401);
  });

  it('a user removed from a group loses access with the next token', async () => {
    await kc.setGroupMembership('dave', 'infra', true);
    const member = (await kc.passwordToken('dave')).access_token;
    assert.equal(
      (await withToken(member, '/v1/store/secrets?action=get', { path: 'infra/root-pw' })).status,
      200,
    );
    await kc.setGroupMembership('dave', 'infra', false);
    const removed = (await kc.passwordToken('dave')).access_token;
    assert.equal(
      (await withToken(removed, '/v1/store/secrets?action=get', { path: 'infra/root-pw' })).status,
      401,
    );
  });

  it('refuses Keycloak tokens on the mTLS port, on reads (API thread) and writes (main thread)', async () => {
    const token = (await kc.passwordToken('erin')).access_token;
    for (let i = 0; i < 4; i++) {
      const read = await asPilot(
        '/v1/store/secrets?action=get',
        { path: 'infra/root-pw' },
        { authorization: `Bearer ${token}` },
      );
      assert.equal(read.status, 401);
      const write = await asPilot(
        '/v1/store/secrets',
        { path: 'infra/root-pw', values: { pw: 'changed' } },
        { authorization: `Bearer ${token}` },
      );
      assert.equal(write.status, 401);
    }
    assert.deepEqual((await asPilot('/v1/store/secrets?action=get', { path: 'infra/root-pw' })).json(), {
      data: { pw: 'infra-secret' },
    });
    assert.equal(
      (await call(peoplePort, peopleTrust, { path: '/v1/store/secrets?action=list', body: {}, client: null }))
        .status,
      401,
    );
  });

  it('writes audit records naming the door, the person and their groups; never a value', async () => {
    // Records reach the file a moment after their response: wait for the last request's record.
    let lines: string[] = [];
    let records: Record<string, unknown>[] = [];
    const lastSeen = (): boolean =>
      records.some((r) => r.door === 'people-api' && r.reason === 'missing_token');
    for (let i = 0; i < 100 && !lastSeen(); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      lines = (await readFile(join(dir, 'audit.log'), 'utf8')).trim().split('\n');
      records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    }
    const alice = records.find((r) => r.caller === 'user:alice' && r.status === 200);
    assert.equal(alice?.door, 'people-api');
    assert.equal(alice?.principal, 'user:alice');
    assert.deepEqual(alice?.groups, ['infra']);
    assert.ok(records.some((r) => r.door === 'mtls' && r.reason === 'token_on_mtls_port'));
    assert.ok(records.some((r) => r.door === 'people-api' && r.reason === 'missing_token'));
    const text = lines.join('\n');
    for (const value of ['infra-secret', 'trustee-secret', 'system-secret']) assert.ok(!text.includes(value));
  });
});
