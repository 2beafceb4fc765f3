/**
 * A stand-in OIDC issuer for tests of the people listener: a loopback HTTP server with a discovery
 * document and a JWKS, keys generated with `jose`, and a signer for access tokens with any claims
 * and header. It counts the requests it serves, so tests can see how often Nexus asked for keys.
 * Tests only: the real IdP in the end-to-end suite is Keycloak.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTHeaderParameters,
} from 'jose';

export interface TestIssuerKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface TestIssuer {
  /** `http://127.0.0.1:<port>/realms/test`. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** The keys the JWKS publishes (the first signs by default). */
  readonly keys: TestIssuerKey[];
  /** Requests served: discovery and JWKS. */
  readonly hits: { discovery: number; jwks: number };
  /** A key made now; publish it by pushing it onto `keys`. */
  newKey(kid: string, alg?: string): Promise<TestIssuerKey>;
  /**
   * An access token: `iss`, `aud` (default `spike-nexus`), `iat` now, `exp` in 5 minutes,
   * `preferred_username`, `groups`, and whatever `claims` add or override (undefined removes).
   */
  token(
    claims?: Record<string, unknown>,
    options?: { key?: TestIssuerKey; header?: Partial<JWTHeaderParameters> },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function newTestKey(kid: string, alg = 'RS256'): Promise<TestIssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export async function startTestIssuer(
  options: { readonly audience?: string; readonly path?: string } = {},
): Promise<TestIssuer> {
  const keys: TestIssuerKey[] = [await newTestKey('k1')];
  const hits = { discovery: 0, jwks: 0 };
  const realm = options.path ?? '/realms/test';
  let base = '';
  const server: Server = createServer((req, res) => {
    if (req.url === `${realm}/.well-known/openid-configuration`) {
      hits.discovery += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: `${base}${realm}`, jwks_uri: `${base}${realm}/certs` }));
      return;
    }
    if (req.url === `${realm}/certs`) {
      hits.jwks += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}${realm}`;
  return {
    issuer,
    jwksUri: `${issuer}/certs`,
    keys,
    hits,
    newKey: newTestKey,
    async token(claims = {}, opts = {}) {
      const key = opts.key ?? keys[0];
      if (key === undefined) throw new Error('the test issuer has no key');
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        iss: issuer,
        aud: options.audience ?? 'spike-nexus',
        iat: now,
        exp: now + 300,
        preferred_username: 'alice',
        groups: [],
      };
      for (const [name, value] of Object.entries(claims)) {
        if (value === undefined) delete payload[name];
        else payload[name] = value;
      }
      return new SignJWT(payload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header })
        .sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
