/**
 * `spike login` / `logout` / `whoami` and commands as a person (ADR 0037), with the real `spike`
 * binary against a real Keycloak (test/support/keycloak.ts). The device grant is approved and the
 * code flow completed by driving Keycloak's own pages with plain HTTP form posts as the user.
 *
 * Nexus's people listener is stood in for by a small HTTPS server here that checks each bearer
 * token against Keycloak's published keys (signature, issuer, audience, expiry) and answers
 * `whoami` and `secret list` by the token's groups: it tests the CLI and the SDK's bearer
 * transport, not Nexus's authorization.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, start } from './login-kit.ts';
import { AUDIENCE, CLIENTS, startKeycloak, TEST_USERS, type Keycloak } from '../support/keycloak.ts';
import { approveDevice, loginThroughCodeFlow } from '../support/keycloak-forms.ts';

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** A stand-in for the people listener: bearer tokens checked against the realm's keys. */
async function startPeopleStandIn(
  kc: Keycloak,
  tls: { key: string; cert: string },
): Promise<{ server: Server; url: string; tokensSeen: Set<string> }> {
  const jwks = (await (await fetch(`${kc.issuer}/protocol/openid-connect/certs`)).json()) as {
    keys: Array<JsonWebKey & { kid: string }>;
  };
  const tokensSeen = new Set<string>();
  const check = (auth: string | undefined): Record<string, unknown> | undefined => {
    const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(auth ?? '');
    if (m === null) return undefined;
    const header = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as {
      alg?: string;
      kid?: string;
    };
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    if (header.alg !== 'RS256' || jwk === undefined) return undefined;
    const ok = verify(
      'sha256',
      Buffer.from(`${m[1]!}.${m[2]!}`),
      createPublicKey({ key: jwk, format: 'jwk' }),
      Buffer.from(m[3]!, 'base64url'),
    );
    if (!ok) return undefined;
    const c = claimsOf(`${m[1]!}.${m[2]!}.${m[3]!}`);
    const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
    if (
      c.iss !== kc.issuer ||
      !aud.includes(AUDIENCE) ||
      typeof c.exp !== 'number' ||
      c.exp * 1000 < Date.now()
    ) {
      return undefined;
    }
    tokensSeen.add(`${m[1]!}.${m[2]!}.${m[3]!}`);
    return c;
  };
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    req.resume();
    req.once('end', () => {
      const c = check(req.headers.authorization);
      if (c === undefined) return send(401, { err: 'unauthorized' });
      const groups = Array.isArray(c.groups) ? (c.groups as string[]) : [];
      const url = new URL(req.url ?? '/', 'https://x');
      if (req.method === 'POST' && url.pathname === '/v1/auth/whoami') {
        return send(200, {
          principal: `user:${String(c.preferred_username)}`,
          kind: 'person',
          groups,
          role: groups.includes('admins') ? 'admin' : groups.includes('auditors') ? 'auditor' : 'user',
          door: 'people-api',
          nexusVersion: 'stand-in',
        });
      }
      if (
        req.method === 'POST' &&
        url.pathname === '/v1/store/secrets' &&
        url.searchParams.get('action') === 'list'
      ) {
        return groups.includes('infra')
          ? send(200, { keys: ['servers/root-passwords'] })
          : send(401, { err: 'access_unauthorized' });
      }
      return send(404, { err: 'api_not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${String(port)}`, tokensSeen };
}

describe('spike login, whoami and logout against Keycloak', { timeout: 900_000 }, () => {
  let kc: Keycloak;
  let dir = '';
  let people: Awaited<ReturnType<typeof startPeopleStandIn>>;
  let env: Record<string, string>;
  let cacheFile = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spike-login-test-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'people.key'),
        '-out',
        join(dir, 'people.crt'),
      ],
      { stdio: 'ignore' },
    );
    kc = await startKeycloak();
    people = await startPeopleStandIn(kc, {
      key: await readFile(join(dir, 'people.key'), 'utf8'),
      cert: await readFile(join(dir, 'people.crt'), 'utf8'),
    });
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(dir, 'home'),
      SPIKE_OIDC_ISSUER: kc.issuer,
      SPIKE_OIDC_CLIENT_ID: CLIENTS.cli,
      SPIKE_PEOPLE_URL: people.url,
      SPIKE_PEOPLE_CA_FILE: join(dir, 'people.crt'),
    };
    cacheFile = join(dir, 'home', '.config', 'spike', 'login.json');
  });

  after(async () => {
    people?.server.closeAllConnections();
    people?.server.close();
    await kc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('without a login or socket, a command says to log in', async () => {
    const r = await run(['secret', 'list'], { ...env, SPIFFE_ENDPOINT_SOCKET: '' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spike login/);
  });

  it('logs in with the device grant, approved in Keycloak by the user', async () => {
    const live = start(['login'], env);
    const m = await live.waitFor(/or open (\S+) directly/);
    assert.match(await live.waitFor(/enter the code:\s+(\S+)/).then((x) => x[1]!), /^[A-Z]{4}-[A-Z]{4}$/);
    const page = await approveDevice(kc.baseUrl, m[1]!, 'alice', TEST_USERS.alice.password);
    assert.equal(page.status, 200, page.html.slice(0, 500));
    const r = await live.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged in as alice at /);
    assert.match(r.stderr, new RegExp(`${kc.issuer.replaceAll('.', '\\.')}/device\\n`));
    const st = await stat(cacheFile);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'home', '.config', 'spike'))).mode & 0o777, 0o700);
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as {
      accessToken: string;
      peopleUrl: string;
    };
    assert.equal(claimsOf(cached.accessToken).preferred_username, 'alice');
    assert.equal(cached.peopleUrl, people.url);
  });

  it('whoami prints the principal, groups, role, door and Nexus, with the bearer token', async () => {
    const r = await run(['whoami'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Principal: user:alice/);
    assert.match(r.stdout, /Kind:\s+person/);
    assert.match(r.stdout, /Groups:\s+infra/);
    assert.match(r.stdout, /Role:\s+user/);
    assert.match(r.stdout, /Door:\s+people-api/);
    assert.match(r.stdout, new RegExp(`Nexus:\\s+${people.url.replaceAll('.', '\\.')}`));
  });

  it('an existing command works with the login; allowed for infra', async () => {
    const r = await run(['secret', 'list'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /servers\/root-passwords/);
  });

  it('refreshes an expired access token with the refresh token and rewrites the cache', async () => {
    const before = JSON.parse(await readFile(cacheFile, 'utf8')) as {
      accessToken: string;
      expiresAt: number;
    };
    await writeFile(cacheFile, JSON.stringify({ ...before, expiresAt: Date.now() - 1000 }), { mode: 0o600 });
    const r = await run(['whoami'], env);
    assert.equal(r.code, 0, r.stderr);
    const after = JSON.parse(await readFile(cacheFile, 'utf8')) as { accessToken: string; expiresAt: number };
    assert.notEqual(after.accessToken, before.accessToken);
    assert.ok(after.expiresAt > Date.now());
    assert.ok(people.tokensSeen.has(after.accessToken), 'the refreshed token was sent');
    assert.equal((await stat(cacheFile)).mode & 0o777, 0o600);
  });

  it('refuses a cache file others can read, and one that is not a login', async () => {
    await chmod(cacheFile, 0o644);
    let r = await run(['whoami'], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /Refusing the login cache .*mode is 0644/);
    await chmod(cacheFile, 0o600);
    const good = await readFile(cacheFile, 'utf8');
    await writeFile(cacheFile, '{"v":1,"issuer":5}', { mode: 0o600 });
    r = await run(['whoami'], env);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /not a login this CLI wrote/);
    await writeFile(cacheFile, good, { mode: 0o600 });
  });

  it('an expired refresh token says to run spike login', async () => {
    const good = await readFile(cacheFile, 'utf8');
    const login = JSON.parse(good) as Record<string, unknown>;
    await writeFile(
      cacheFile,
      JSON.stringify({ ...login, expiresAt: 0, refreshToken: 'not.a.valid-token' }),
      {
        mode: 0o600,
      },
    );
    const r = await run(['whoami'], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /Run `spike login`/);
    await writeFile(cacheFile, good, { mode: 0o600 });
  });

  it('logout revokes the refresh token at Keycloak and removes the cache', async () => {
    const login = JSON.parse(await readFile(cacheFile, 'utf8')) as { refreshToken: string };
    const r = await run(['logout'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged out alice \(revoked the refresh token/);
    await assert.rejects(stat(cacheFile), { code: 'ENOENT' });
    const res = await fetch(`${kc.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: CLIENTS.cli,
        refresh_token: login.refreshToken,
      }),
    });
    assert.equal(res.status, 400, 'the refresh token no longer works');
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
    assert.match((await run(['logout'], env)).stdout, /Not logged in/);
  });

  it('logs in with the code flow and PKCE through a loopback redirect; a user outside infra is denied', async () => {
    const live = start(['login', '--browser'], env);
    const m = await live.waitFor(/open this URL in a browser on this computer:\s+(\S+)/);
    const authUrl = new URL(m[1]!);
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authUrl.searchParams.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const page = await loginThroughCodeFlow(kc.baseUrl, authUrl.href, 'dave', TEST_USERS.dave.password);
    assert.match(page.leftTo ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
    assert.match(page.html, /Logged in to SPIKE/);
    const r = await live.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged in as dave/);
    const denied = await run(['secret', 'list'], env);
    assert.equal(denied.code, 4, denied.stderr);
    assert.match(denied.stderr, /denied this request for user:dave/);
    const who = await run(['whoami'], env);
    assert.match(who.stdout, /Groups:\s+\(none\)/);
  });

  it('a token the server does not accept says to log in again', async () => {
    const login = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, unknown>;
    const other = await kc.passwordToken('dave');
    // Signed by Keycloak, but the stand-in only takes unexpired tokens: forge an expired-looking one.
    const [h, , s] = other.access_token.split('.');
    const p = Buffer.from(JSON.stringify({ ...claimsOf(other.access_token), exp: 1 })).toString('base64url');
    await writeFile(cacheFile, JSON.stringify({ ...login, accessToken: `${h}.${p}.${s}` }), { mode: 0o600 });
    const r = await run(['whoami'], env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /did not accept your login token/);
  });

  it('says clearly what is missing: issuer, people URL, a reachable provider', async () => {
    let r = await run(['login'], { ...env, SPIKE_OIDC_ISSUER: '' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /No OpenID provider: set SPIKE_OIDC_ISSUER or pass --issuer/);
    r = await run(['login'], { ...env, SPIKE_PEOPLE_URL: '' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /No people listener URL: set SPIKE_PEOPLE_URL or pass --people-url/);
    r = await run(['login', '--people-url', 'http://127.0.0.1:1'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /must be an https:\/\/ URL/);
    r = await run(['login', '--issuer', 'http://example.com/realms/x'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /plain http:\/\/ only on a loopback address/);
    r = await run(['login', '--issuer', 'http://127.0.0.1:1/realms/none'], env);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /Cannot reach the OpenID provider at http:\/\/127\.0\.0\.1:1\/realms\/none/);
    r = await run(['whoami'], { ...env, SPIKE_PEOPLE_URL: 'https://127.0.0.1:1' });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /Cannot reach the SPIKE Nexus people listener at https:\/\/127\.0\.0\.1:1/);
  });

  it('has help for login, logout and whoami', async () => {
    for (const cmd of ['login', 'logout', 'whoami']) {
      const r = await run([cmd, '--help'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Usage: spike ${cmd}`));
    }
    assert.match((await run(['login', '--help'], env)).stdout, /--browser[\s\S]*SPIKE_PEOPLE_URL/);
  });
});
