import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALLOWED_ALGORITHMS, OidcConfigError, parseOidcConfig } from './oidc-config.ts';

const issuer = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  issuer: 'https://idp.example.com/realms/spike',
  audience: 'spike-nexus',
  ...over,
});
const parse = (value: unknown): ReturnType<typeof parseOidcConfig> => parseOidcConfig(JSON.stringify(value));

describe('OIDC configuration file', () => {
  it('fills the defaults and keeps what is given', () => {
    const config = parse({
      issuers: [issuer(), issuer({ issuer: 'http://127.0.0.1:8080/realms/dev', adminGroups: ['ops'] })],
      console: {
        issuer: 'https://idp.example.com/realms/spike',
        clientId: 'spike-console',
        clientSecretFile: '/etc/spike/secret',
        publicBaseUrl: 'https://nexus.example.com:8555',
      },
    });
    assert.deepEqual(config.issuers[0], {
      issuer: 'https://idp.example.com/realms/spike',
      audience: 'spike-nexus',
      algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
      userClaim: 'preferred_username',
      groupsClaim: 'groups',
      maxTokenLifetimeS: 3600,
      clockToleranceS: 30,
      adminGroups: [],
      auditorGroups: [],
      jwksUri: undefined,
    });
    assert.deepEqual(config.issuers[1]?.adminGroups, ['ops']);
    assert.equal(config.console?.clientId, 'spike-console');
    assert.ok(Object.isFrozen(config.issuers[0]));
  });

  it('refuses what would weaken validation or is simply wrong, naming the field', () => {
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', undefined, /not valid JSON/],
      ['no issuers', { issuers: [] }, /issuers: must be a non-empty list/],
      [
        'alg none',
        { issuers: [issuer({ algorithms: ['none'] })] },
        /issuers\[0\]\.algorithms: "none" is not allowed/,
      ],
      ['HS256', { issuers: [issuer({ algorithms: ['RS256', 'HS256'] })] }, /"HS256" is not allowed/],
      ['empty algorithms', { issuers: [issuer({ algorithms: [] })] }, /algorithms: must not be empty/],
      [
        'plain http off loopback',
        { issuers: [issuer({ issuer: 'http://idp.example.com/x' })] },
        /https:\/\//,
      ],
      ['http jwks off loopback', { issuers: [issuer({ jwksUri: 'http://10.0.0.1/certs' })] }, /jwksUri/],
      ['not a URL', { issuers: [issuer({ issuer: 'idp' })] }, /absolute URL/],
      ['no audience', { issuers: [{ issuer: 'https://a.example' }] }, /audience: must be a non-empty string/],
      ['unknown field', { issuers: [issuer({ audiance: 'x' })] }, /unknown field "audiance"/],
      ['unknown top-level field', { issuers: [issuer()], extra: 1 }, /unknown field "extra"/],
      [
        'lifetime not a number',
        { issuers: [issuer({ maxTokenLifetimeSeconds: '1h' })] },
        /whole number of seconds/,
      ],
      ['lifetime too long', { issuers: [issuer({ maxTokenLifetimeSeconds: 90_000 })] }, /0\.\.86400/],
      ['groups not strings', { issuers: [issuer({ adminGroups: [1] })] }, /adminGroups: must be a list/],
      ['issuer twice', { issuers: [issuer(), issuer()] }, /listed twice/],
      ['issuers not a list', { issuers: issuer() }, /non-empty list/],
      ['issuer not an object', { issuers: ['x'] }, /issuers\[0\]: must be a JSON object/],
      [
        'console of an untrusted issuer',
        {
          issuers: [issuer()],
          console: { issuer: 'https://other.example', clientId: 'c', publicBaseUrl: 'https://n.example' },
        },
        /console\.issuer: must be one of the trusted issuers/,
      ],
      [
        'console on plain http',
        {
          issuers: [issuer()],
          console: { issuer: issuer().issuer, clientId: 'c', publicBaseUrl: 'http://n.example' },
        },
        /publicBaseUrl/,
      ],
    ];
    for (const [name, value, message] of cases) {
      assert.throws(
        () => (value === undefined ? parseOidcConfig('{') : parse(value)),
        (err: unknown) => err instanceof OidcConfigError && message.test(err.message),
        name,
      );
    }
  });

  it('allows asymmetric algorithms only', () => {
    for (const alg of ALLOWED_ALGORITHMS) assert.doesNotMatch(alg, /^(HS|none)/i);
    for (const host of ['http://localhost:1/r', 'http://[::1]:1/r', 'http://127.0.0.2:1/r']) {
      assert.equal(parse({ issuers: [issuer({ issuer: host })] }).issuers[0]?.issuer, host);
    }
  });
});
