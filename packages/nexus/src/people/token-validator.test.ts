import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI, importJWK, SignJWT, type CryptoKey } from 'jose';
import { parseOidcConfig } from './oidc-config.ts';
import {
  createTokenValidator,
  MAX_TOKEN_LENGTH,
  type TokenResult,
  type TokenValidator,
} from './token-validator.ts';
import { newTestKey, startTestIssuer, type TestIssuer } from '../testing/oidc-issuer.ts';

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function reason(result: TokenResult): string {
  return result.ok ? 'accepted' : result.reason;
}

describe('OIDC access token validation', () => {
  let idp: TestIssuer;
  let other: TestIssuer;
  let clock = Date.now();
  let validator: TokenValidator;
  const now = (): number => clock;
  const COOLDOWN = 30_000;

  before(async () => {
    idp = await startTestIssuer();
    other = await startTestIssuer({ path: '/realms/other' });
    const config = parseOidcConfig(
      JSON.stringify({
        issuers: [
          {
            issuer: idp.issuer,
            audience: 'spike-nexus',
            algorithms: ['RS256', 'ES256'],
            maxTokenLifetimeSeconds: 3600,
            clockToleranceSeconds: 5,
            adminGroups: ['admins'],
            auditorGroups: ['auditors'],
          },
          { issuer: other.issuer, audience: 'nexus-2', userClaim: 'email', groupsClaim: 'roles' },
        ],
      }),
    );
    validator = createTokenValidator(config, { now, jwksCooldownMs: COOLDOWN });
  });
  after(async () => {
    await idp.close();
    await other.close();
  });

  it('accepts a good token: user:<claim>, its groups and the role the groups give', async () => {
    const r = await validator.validate(
      await idp.token({ preferred_username: 'bob', groups: ['trustees', 'x'] }),
    );
    assert.deepEqual(r, {
      ok: true,
      caller: {
        kind: 'person',
        principal: 'user:bob',
        groups: ['trustees', 'x'],
        issuer: idp.issuer,
        role: 'user',
      },
    });
    const admin = await validator.validate(await idp.token({ groups: ['infra', 'admins', 'auditors'] }));
    assert.equal(admin.ok && admin.caller.role, 'admin');
    const auditor = await validator.validate(await idp.token({ groups: ['auditors'] }));
    assert.equal(auditor.ok && auditor.caller.role, 'auditor');
    const none = await validator.validate(await idp.token({ groups: undefined }));
    assert.deepEqual(none.ok && none.caller.groups, []);
    assert.equal(idp.hits.discovery, 1);
    assert.equal(idp.hits.jwks, 1);
  });

  it('trusts several issuers, each with its own audience and claims', async () => {
    const token = await other.token({ aud: 'nexus-2', email: 'carol@example.org', roles: ['ops'] });
    const r = await validator.validate(token);
    assert.equal(r.ok && r.caller.principal, 'user:carol@example.org');
    assert.deepEqual(r.ok && r.caller.groups, ['ops']);
    assert.equal(r.ok && r.caller.issuer, other.issuer);
    // The first issuer's audience is not the second's.
    assert.equal(reason(await validator.validate(await other.token({ email: 'c@x' }))), 'wrong_audience');
  });

  it('refuses every bad token with a reason code', async (t0) => {
    const good = await idp.token();
    const [head, body, sig] = good.split('.') as [string, string, string];
    const t = Math.floor(clock / 1000);
    const stranger = await startTestIssuer({ path: '/realms/stranger' });
    t0.after(() => stranger.close());
    const publicPem = await exportSPKI(await publicKeyOf(idp));
    const cases: [string, string, string][] = [
      ['untrusted issuer', await stranger.token(), 'untrusted_issuer'],
      [
        'untrusted issuer claiming a trusted one in another field',
        await stranger.token({ azp: idp.issuer }),
        'untrusted_issuer',
      ],
      ['wrong audience', await idp.token({ aud: 'someone-else' }), 'wrong_audience'],
      ['expired', await idp.token({ iat: t - 1000, exp: t - 600 }), 'token_expired'],
      ['not yet valid', await idp.token({ nbf: t + 600 }), 'token_not_yet_valid'],
      ['alg none', `${b64url({ alg: 'none', kid: 'k1' })}.${body}.`, 'algorithm_not_allowed'],
      [
        'HS256 signed with the public key (algorithm confusion)',
        await new SignJWT(JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>)
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .sign(new TextEncoder().encode(publicPem)),
        'algorithm_not_allowed',
      ],
      [
        'bad signature',
        `${head}.${body}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
        'bad_signature',
      ],
      [
        'payload changed under the signature',
        `${head}.${b64url({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), preferred_username: 'root' })}.${sig}`,
        'bad_signature',
      ],
      ['too long-lived', await idp.token({ iat: t, exp: t + 7200 }), 'token_lifetime_too_long'],
      ['issued too long ago', await idp.token({ iat: t - 7200, exp: t + 60 }), 'token_lifetime_too_long'],
      ['no exp', await idp.token({ exp: undefined }), 'missing_claim'],
      ['no iat', await idp.token({ iat: undefined }), 'missing_claim'],
      ['no user claim', await idp.token({ preferred_username: undefined }), 'bad_user_claim'],
      [
        'user claim with a control character',
        await idp.token({ preferred_username: 'a\nb' }),
        'bad_user_claim',
      ],
      ['groups not a list', await idp.token({ groups: 'admins' }), 'bad_groups_claim'],
      [
        'too many groups',
        await idp.token({ groups: Array.from({ length: 300 }, (_, i) => `g${i}`) }),
        'bad_groups_claim',
      ],
      ['not a JWT', 'not-a-token', 'malformed_token'],
      ['too large', 'a'.repeat(MAX_TOKEN_LENGTH + 1), 'token_too_large'],
      ['empty', '', 'missing_token'],
    ];
    const before = { ...idp.hits };
    for (const [name, token, expected] of cases) {
      assert.equal(reason(await validator.validate(token)), expected, name);
    }
    assert.equal(stranger.hits.discovery + stranger.hits.jwks, 0, 'an untrusted issuer is never contacted');
    assert.deepEqual(idp.hits, before, 'no bad token made Nexus fetch keys');
  });

  it('on an unknown kid fetches the JWKS once, then refuses; a flood within the cooldown fetches nothing', async () => {
    clock += COOLDOWN + 1;
    const rogue = await newTestKey('k-unknown');
    const unknown = await idp.token({}, { key: rogue });
    const before = idp.hits.jwks;
    assert.equal(reason(await validator.validate(unknown)), 'unknown_key');
    assert.equal(idp.hits.jwks, before + 1, 'one refresh');
    const flood = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => idp.token({}, { key: { ...rogue, kid: `flood-${i}` } })),
    );
    const results = await Promise.all(flood.map((token) => validator.validate(token)));
    assert.ok(results.every((r) => reason(r) === 'unknown_key'));
    assert.equal(idp.hits.jwks, before + 1, 'no refresh within the cooldown');
    // After the cooldown a flood shares one refresh.
    clock += COOLDOWN + 1;
    const again = await Promise.all(flood.map((token) => validator.validate(token)));
    assert.ok(again.every((r) => reason(r) === 'unknown_key'));
    assert.equal(idp.hits.jwks, before + 2, 'one shared refresh');
  });

  it('picks up a rotated key on the refresh an unknown kid causes', async () => {
    clock += COOLDOWN + 1;
    const rotated = await newTestKey('k2', 'ES256');
    idp.keys.push(rotated);
    const r = await validator.validate(await idp.token({ preferred_username: 'erin' }, { key: rotated }));
    assert.equal(r.ok && r.caller.principal, 'user:erin');
    idp.keys.pop();
  });

  it('refuses while the IdP cannot be reached, and does not hammer it', async () => {
    const gone = await startTestIssuer({ path: '/realms/gone' });
    const v = createTokenValidator(
      parseOidcConfig(JSON.stringify({ issuers: [{ issuer: gone.issuer, audience: 'spike-nexus' }] })),
      { now, jwksCooldownMs: COOLDOWN, fetchTimeoutMs: 2000 },
    );
    const token = await gone.token();
    await gone.close();
    assert.equal(reason(await v.validate(token)), 'jwks_unavailable');
    const fetchesAfterFirst = v.fetches();
    for (let i = 0; i < 20; i++) assert.equal(reason(await v.validate(token)), 'jwks_unavailable');
    assert.equal(v.fetches(), fetchesAfterFirst, 'no new attempt within the cooldown');
  });
});

async function publicKeyOf(idp: TestIssuer): Promise<CryptoKey> {
  return (await importJWK((idp.keys[0] as { publicJwk: object }).publicJwk, 'RS256')) as CryptoKey;
}
