/**
 * JWT-SVID minting and validation for the dev issuer: ES256 with a `kid`, header `typ: JWT`,
 * claims `sub`, `aud` (array), `exp`, `iat` — the profile SPIRE uses.
 */
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { JSONWebKeySet, JWK, JWTPayload } from 'jose';
import { parseSpiffeId } from '@spike-ts/identity';

/** Algorithms the JWT-SVID standard allows; anything else (`none`, HS*) is rejected. */
export const JWT_SVID_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];
const MAX_TOKEN_BYTES = 16 * 1024;

export class JwtSvidValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwtSvidValidationError';
  }
}

export interface JwtAuthority {
  readonly kid: string;
  /** Standard JWKS (no `use`), as the Workload API serves it. */
  jwks(): JSONWebKeySet;
  mint(spiffeId: string, audience: readonly string[], ttlMs: number, now?: Date): Promise<string>;
  validate(token: string, audience: string): Promise<{ spiffeId: string; claims: JWTPayload }>;
}

export async function createJwtAuthority(privateKey: KeyObject, trustDomain: string): Promise<JwtAuthority> {
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const jwk: JWK = { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y, kid };
  const keySet = createLocalJWKSet({ keys: [jwk] });

  return {
    kid,
    jwks: () => ({ keys: [{ ...jwk }] }),
    async mint(spiffeId, audience, ttlMs, now = new Date()) {
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setSubject(spiffeId)
        .setAudience([...audience])
        .setIssuedAt(iat)
        .setExpirationTime(iat + Math.max(1, Math.round(ttlMs / 1000)))
        .sign(privateKey);
    },
    async validate(token, audience) {
      if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw new JwtSvidValidationError('token is too large');
      let subject: string;
      try {
        const header = decodeProtectedHeader(token);
        if (header.alg === undefined || !JWT_SVID_ALGORITHMS.includes(header.alg)) {
          throw new JwtSvidValidationError(
            `unsupported token signature algorithm ${JSON.stringify(header.alg)}`,
          );
        }
        if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
          throw new JwtSvidValidationError(`token header typ ${JSON.stringify(header.typ)} is not allowed`);
        }
        const claims = decodeJwt(token);
        if (typeof claims.sub !== 'string') throw new JwtSvidValidationError('token has no subject claim');
        subject = claims.sub;
      } catch (err) {
        if (err instanceof JwtSvidValidationError) throw err;
        throw new JwtSvidValidationError('token is malformed');
      }
      let td: string;
      try {
        td = parseSpiffeId(subject).trustDomain;
      } catch (err) {
        throw new JwtSvidValidationError(`token subject is not a valid SPIFFE ID: ${(err as Error).message}`);
      }
      if (td !== trustDomain)
        throw new JwtSvidValidationError(`no keys found for trust domain ${JSON.stringify(td)}`);
      try {
        const { payload } = await jwtVerify(token, keySet, {
          audience,
          algorithms: JWT_SVID_ALGORITHMS,
          requiredClaims: ['sub', 'aud', 'exp'],
        });
        if (payload.sub !== subject)
          throw new JwtSvidValidationError('token subject changed during validation');
        return { spiffeId: subject, claims: payload };
      } catch (err) {
        if (err instanceof JwtSvidValidationError) throw err;
        const code = (err as { code?: unknown }).code;
        throw new JwtSvidValidationError(
          `token is invalid: ${typeof code === 'string' ? code : 'verification failed'}: ${(err as Error).message}`,
        );
      }
    },
  };
}
