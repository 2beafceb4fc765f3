/**
 * `spike login` against real components end to end: Keycloak, a `spike-nexus` process with its
 * people listener (SQLite; a server certificate for `localhost` from a private CA), and the real
 * `spike` binary. A person logs in with the device grant (approved in Keycloak's pages by plain HTTP
 * form posts), `whoami` answers from Nexus, and existing commands are allowed or denied by the
 * person's Keycloak groups and Nexus's policies. The same `whoami` with an SVID uses the mTLS door.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DevIssuer } from '@spike-ts/dev-identity';
import { killAll } from '../nexus/processes.ts';
import { CLIENTS, startKeycloak, TEST_USERS, type Keycloak } from '../support/keycloak.ts';
import { approveDevice } from '../support/keycloak-forms.ts';
import { startPeopleNexus } from '../support/people-nexus.ts';
import { run, start } from './login-kit.ts';

describe('spike login with Keycloak and a spike-nexus people listener', { timeout: 900_000 }, () => {
  let dir: string;
  let kc: Keycloak;
  let issuer: DevIssuer;
  let port = 0;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp('/tmp/spx-login-');
    kc = await startKeycloak();
    const started = await startPeopleNexus({ dir, keycloak: kc });
    ({ issuer, port } = started);
    const put = started.putAsPilot;
    await put('/v1/store/secrets', { path: 'infra/root-pw', values: { pw: 'infra-secret' } });
    await put('/v1/store/secrets', { path: 'cloud/master', values: { key: 'trustee-secret' } });
    await put('/v1/acl/policy', {
      name: 'infra-read',
      spiffeidPattern: '',
      groups: ['infra'],
      pathPattern: '^infra/.*$',
      permissions: ['read', 'list'],
    });
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(dir, 'home'),
      SPIKE_OIDC_ISSUER: kc.issuer,
      SPIKE_OIDC_CLIENT_ID: CLIENTS.cli,
      SPIKE_PEOPLE_URL: `https://localhost:${String(started.peoplePort)}`,
      SPIKE_PEOPLE_CA_FILE: started.peopleCaFile,
    };
  });

  after(async () => {
    await killAll();
    await issuer?.close();
    await kc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('alice logs in with the device grant; whoami comes from Nexus over the people door', async () => {
    const live = start(['login'], env);
    const m = await live.waitFor(/or open (\S+) directly/);
    await approveDevice(kc.baseUrl, m[1]!, 'alice', TEST_USERS.alice.password);
    const r = await live.done;
    assert.equal(r.code, 0, r.stderr);
    const who = await run(['whoami'], env);
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /Principal: user:alice/);
    assert.match(who.stdout, /Groups:\s+infra\n/);
    assert.match(who.stdout, /Role:\s+user/);
    assert.match(who.stdout, /Door:\s+people-api/);
    assert.match(who.stdout, new RegExp(`Nexus:\\s+${env.SPIKE_PEOPLE_URL!}`));
  });

  it('an existing command is allowed by the infra group and denied outside it', async () => {
    const got = await run(['secret', 'get', 'infra/root-pw', 'pw'], env);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /infra-secret/);
    const denied = await run(['secret', 'get', 'cloud/master'], env);
    assert.equal(denied.code, 4, denied.stderr);
    assert.match(denied.stderr, /denied this request for user:alice/);
    assert.doesNotMatch(denied.stdout + denied.stderr, /trustee-secret/);
  });

  it('with a Workload API socket, the CLI uses its SVID, never the login', async () => {
    const who = await run(['whoami'], {
      ...env,
      SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('pilot'),
      SPIKE_NEXUS_API_URL: `https://127.0.0.1:${String(port)}`,
    });
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /Principal: spiffe:\/\/\S+\/spike\/pilot\/role\/superuser/);
    assert.match(who.stdout, /Kind:\s+workload/);
    assert.match(who.stdout, /Door:\s+mtls/);
  });

  it('after logout, commands no longer act as alice', async () => {
    assert.equal((await run(['logout'], env)).code, 0);
    const r = await run(['secret', 'get', 'infra/root-pw'], env);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spike login/);
  });
});
