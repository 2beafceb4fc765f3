/**
 * The Keycloak test harness (test/support/keycloak.ts) against the real distribution from the
 * tools cache: the `spike` realm's discovery document, password-grant tokens that carry the
 * `groups` and `aud` claims the people listener relies on, signatures that verify against the
 * realm's published keys, and a stop that leaves no process and no folder behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { AUDIENCE, CLIENTS, startKeycloak, TEST_USERS, type Keycloak } from '../support/keycloak.ts';

interface Claims {
  iss?: string;
  aud?: string | string[];
  azp?: string;
  exp?: number;
  preferred_username?: string;
  groups?: string[];
}

function part(jwt: string, i: number): Buffer {
  const piece = jwt.split('.')[i];
  assert.ok(piece !== undefined, 'a JWT has three parts');
  return Buffer.from(piece, 'base64url');
}

const claims = (jwt: string): Claims => JSON.parse(part(jwt, 1).toString('utf8')) as Claims;

describe('Keycloak harness', { timeout: 600_000 }, () => {
  let kc: Keycloak;

  before(async () => {
    kc = await startKeycloak();
  });

  after(async () => {
    await kc?.stop();
  });

  it('serves the spike realm discovery document on loopback, with the device grant and PKCE S256', async () => {
    assert.match(kc.issuer, /^http:\/\/127\.0\.0\.1:\d+\/realms\/spike$/);
    const res = await fetch(`${kc.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, kc.issuer);
    assert.equal(typeof doc.device_authorization_endpoint, 'string');
    assert.ok((doc.code_challenge_methods_supported as string[]).includes('S256'));
    assert.ok(
      (doc.grant_types_supported as string[]).includes('urn:ietf:params:oauth:grant-type:device_code'),
    );
    const health = await fetch(kc.healthUrl);
    assert.equal(health.status, 200);
    // The install built Keycloak for exactly these start options, so the start did not rebuild.
    assert.doesNotMatch(readFileSync(kc.logFile, 'utf8'), /Updating the configuration/);
  });

  it('issues access tokens with the groups claim (short names) and the spike-nexus audience', async () => {
    for (const [user, { groups }] of Object.entries(TEST_USERS)) {
      const tokens = await kc.passwordToken(user);
      const c = claims(tokens.access_token);
      assert.equal(c.iss, kc.issuer, user);
      assert.equal(c.preferred_username, user);
      const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
      assert.ok(aud.includes(AUDIENCE), `${user}: aud ${JSON.stringify(c.aud)}`);
      assert.equal(c.azp, CLIENTS.test);
      assert.deepEqual([...(c.groups ?? [])].sort(), [...groups].sort(), user);
      assert.equal(typeof tokens.refresh_token, 'string');
    }
  });

  it('signs them with a key the realm publishes', async () => {
    const token = (await kc.passwordToken('alice')).access_token;
    const header = JSON.parse(part(token, 0).toString('utf8')) as { alg: string; kid: string };
    assert.equal(header.alg, 'RS256');
    const jwks = (await (await fetch(`${kc.issuer}/protocol/openid-connect/certs`)).json()) as {
      keys: Array<JsonWebKey & { kid: string }>;
    };
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk !== undefined, 'the token names a published kid');
    const [h, p] = token.split('.');
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), key, part(token, 2)));
    // A changed payload does not verify.
    assert.ok(!verify('sha256', Buffer.from(`${h}.${p}x`), key, part(token, 2)));
  });

  it('refuses a wrong password and an unknown user', async () => {
    await assert.rejects(kc.passwordToken('alice', 'not-the-password'), /HTTP 400 invalid_grant/);
    await assert.rejects(kc.passwordToken('mallory', 'x'), /HTTP 400 invalid_grant/);
  });

  it('reflects a group change in the next token', async () => {
    await kc.setGroupMembership('dave', 'infra', true);
    assert.deepEqual(claims((await kc.passwordToken('dave')).access_token).groups, ['infra']);
    await kc.setGroupMembership('dave', 'infra', false);
    assert.deepEqual(claims((await kc.passwordToken('dave')).access_token).groups ?? [], []);
  });

  it('stops the whole process group and removes its folder', async () => {
    const { logFile, issuer, pgid } = kc;
    assert.ok(existsSync(logFile));
    process.kill(-pgid, 0); // alive now
    await kc.stop();
    assert.throws(() => process.kill(-pgid, 0), { code: 'ESRCH' }, 'no process of the group is left');
    assert.equal(existsSync(logFile), false);
    await assert.rejects(fetch(`${issuer}/.well-known/openid-configuration`));
    await kc.stop(); // twice is fine
  });
});
