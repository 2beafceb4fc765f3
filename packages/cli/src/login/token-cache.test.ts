import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loginDir, loginFile, readLogin, removeLogin, writeLogin, type CachedLogin } from './token-cache.ts';
import { checkIssuer } from './oidc-flows.ts';
import { noWorkloadSocket, peopleUrlOf } from './people-session.ts';

const LOGIN: CachedLogin = {
  v: 1,
  issuer: 'https://idp.example/realms/spike',
  clientId: 'spike-cli',
  peopleUrl: 'https://nexus.example:8443',
  accessToken: 'a.b.c',
  expiresAt: 1,
  refreshToken: 'r',
  user: 'alice',
};

describe('login cache', () => {
  let dir = '';
  let env: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spike-cache-test-'));
    env = { HOME: join(dir, 'home') };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives in $XDG_CONFIG_HOME/spike when absolute, else ~/.config/spike', () => {
    assert.equal(loginDir({ HOME: '/h' }), '/h/.config/spike');
    assert.equal(loginDir({ HOME: '/h', XDG_CONFIG_HOME: '/x' }), '/x/spike');
    assert.equal(loginDir({ HOME: '/h', XDG_CONFIG_HOME: 'relative' }), '/h/.config/spike');
    assert.equal(loginFile({ HOME: '/h' }), '/h/.config/spike/login.json');
  });

  it('is written 0600 in a 0700 folder and read back; absent means not logged in', async () => {
    assert.equal(await readLogin(env), undefined);
    const file = await writeLogin(env, LOGIN);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(loginDir(env))).mode & 0o777, 0o700);
    assert.deepEqual(await readLogin(env), LOGIN);
    await writeLogin(env, { ...LOGIN, accessToken: 'x.y.z' });
    assert.equal((await readLogin(env))?.accessToken, 'x.y.z');
  });

  it('refuses a file others may read or write, a symbolic link, and content it did not write', async () => {
    const file = loginFile(env);
    await chmod(file, 0o640);
    await assert.rejects(readLogin(env), /mode is 0640/);
    await chmod(file, 0o602);
    await assert.rejects(readLogin(env), /other users may read or change it/);
    await chmod(file, 0o600);
    const good = await readFile(file, 'utf8');
    for (const bad of ['not json', '[]', '{"v":2}', JSON.stringify({ ...LOGIN, expiresAt: 'soon' })]) {
      await writeFile(file, bad, { mode: 0o600 });
      await assert.rejects(readLogin(env), /Refusing the login cache/);
    }
    await writeFile(file, 'x'.repeat(300 * 1024), { mode: 0o600 });
    await assert.rejects(readLogin(env), /too large/);
    await rm(file);
    const elsewhere = join(dir, 'planted.json');
    await writeFile(elsewhere, good, { mode: 0o600 });
    await symlink(elsewhere, file);
    await assert.rejects(readLogin(env), /symbolic link/);
    assert.equal(await removeLogin(env), true);
    assert.equal(await removeLogin(env), false);
    await mkdir(loginDir(env), { recursive: true });
  });
});

describe('people door settings', () => {
  it('uses the login only without a Workload API socket', () => {
    assert.equal(noWorkloadSocket({}), true);
    assert.equal(noWorkloadSocket({ SPIFFE_ENDPOINT_SOCKET: ' ' }), true);
    assert.equal(noWorkloadSocket({ SPIFFE_ENDPOINT_SOCKET: 'unix:///s' }), false);
  });
  it('takes SPIKE_PEOPLE_URL over the URL stored at login', () => {
    assert.equal(peopleUrlOf({}, LOGIN), LOGIN.peopleUrl);
    assert.equal(peopleUrlOf({ SPIKE_PEOPLE_URL: 'https://other' }, LOGIN), 'https://other');
    assert.equal(peopleUrlOf({}), undefined);
  });
  it('accepts https issuers and plain http only on loopback', () => {
    assert.equal(checkIssuer('https://idp.example/realms/x').host, 'idp.example');
    assert.equal(checkIssuer('http://127.0.0.1:8080/realms/x').port, '8080');
    assert.throws(() => checkIssuer('http://idp.example/realms/x'), /loopback/);
    assert.throws(() => checkIssuer('ftp://x'), /https/);
    assert.throws(() => checkIssuer('not a url'), /not a valid URL/);
  });
});
