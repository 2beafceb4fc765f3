/**
 * Local validation of OIDC access tokens (JWTs) for the people listener (ADR 0035), composed
 * from `jose`: the token's `iss` picks one configured issuer (no network for any other), the
 * signature is checked against that issuer's JWKS with the issuer's allowed algorithms only
 * (asymmetric; never `none`, never HS*), then `iss`, `aud`, `exp`, `nbf`, `iat` and the
 * issuer's maximum token lifetime. The result is a person: `user:<user claim>`, the groups
 * claim, and the role the configured admin and auditor groups give.
 *
 * JWKS: fetched on first use (URL from the configuration or the issuer's discovery document),
 * kept for `jwksMaxAgeMs`, and fetched again when a token names a key it does not hold — at most
 * once per `jwksCooldownMs` per issuer, and concurrent requests share one fetch, so a flood of
 * tokens with unknown `kid`s cannot turn into a flood of requests to the IdP.
 *
 * A refused token yields a short reason code for the audit record only; the caller gets 401.
 */
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { PERSON_PRINCIPAL_PREFIX, type PersonCaller, type PersonRole } from '@spike-ts/core';
import type { OidcConfig, TrustedIssuer } from './oidc-config.ts';

/** Longest token accepted (characters); larger ones are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;
/** Most groups a token may carry, and the longest user name or group name. */
export const MAX_TOKEN_GROUPS = 256;
export const MAX_CLAIM_NAME_LENGTH = 256;
/** Largest JWKS or discovery document read from an IdP. */
const MAX_IDP_DOCUMENT_BYTES = 512 * 1024;

export type TokenResult =
  { readonly ok: true; readonly caller: PersonCaller } | { readonly ok: false; readonly reason: string };

export interface TokenValidator {
  validate(token: string): Promise<TokenResult>;
  /** Requests made to each issuer's IdP so far (discovery and JWKS; diagnostics and tests). */
  fetches(): number;
}

export interface TokenValidatorOptions {
  /** Shortest time between two JWKS fetches of one issuer caused by unknown keys (default 30 s). */
  readonly jwksCooldownMs?: number;
  /** How long fetched keys are used before they are fetched again (default 10 min). */
  readonly jwksMaxAgeMs?: number;
  /** Timeout of one request to the IdP (default 5 s). */
  readonly fetchTimeoutMs?: number;
  /** Epoch milliseconds (tests). */
  readonly now?: () => number;
  /** Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
}

class IdpUnavailableError extends Error {
  override readonly name = 'IdpUnavailableError';
}

/** The keys of one issuer: fetched lazily, refreshed on unknown `kid` at most once per cooldown. */
interface IssuerKeys {
  getKey: JWTVerifyGetKey;
}

function createIssuerKeys(
  issuer: TrustedIssuer,
  opts: Required<Omit<TokenValidatorOptions, 'fetch'>> & { fetch: typeof fetch; counted: () => void },
): IssuerKeys {
  let local: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  /** When the last fetch started (success or not): the cooldown counts from here. */
  let lastAttempt: number | undefined;
  let pending: Promise<void> | undefined;
  let jwksUri = issuer.jwksUri;

  const getJson = async (url: string): Promise<unknown> => {
    opts.counted();
    const response = await opts.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(opts.fetchTimeoutMs),
    });
    if (!response.ok) throw new IdpUnavailableError(`${url} answered ${response.status}`);
    const body = await response.arrayBuffer();
    if (body.byteLength > MAX_IDP_DOCUMENT_BYTES) throw new IdpUnavailableError(`${url} answered too much`);
    return JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
  };

  const refresh = (): Promise<void> => {
    pending ??= (async () => {
      lastAttempt = opts.now();
      try {
        if (jwksUri === undefined) {
          const discovery = await getJson(
            `${issuer.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
          );
          const doc = discovery as { issuer?: unknown; jwks_uri?: unknown };
          if (doc.issuer !== issuer.issuer || typeof doc.jwks_uri !== 'string') {
            throw new IdpUnavailableError('the discovery document names another issuer or no jwks_uri');
          }
          jwksUri = doc.jwks_uri;
        }
        const jwks = await getJson(jwksUri);
        local = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
        fetchedAt = opts.now();
      } catch (err) {
        throw err instanceof IdpUnavailableError ? err : new IdpUnavailableError(String(err));
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  const coolingDown = (): boolean =>
    lastAttempt !== undefined && opts.now() - lastAttempt < opts.jwksCooldownMs;

  return {
    async getKey(header, token) {
      if (local === undefined || opts.now() - fetchedAt > opts.jwksMaxAgeMs) {
        if (pending !== undefined) await pending;
        else if (coolingDown())
          throw new IdpUnavailableError('the last JWKS fetch failed; not asking again yet');
        else await refresh();
      }
      const keys = local as JWTVerifyGetKey;
      try {
        return await keys(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        // An unknown key: the IdP may have rotated. Ask again, but not more than once per cooldown.
        if (pending !== undefined) await pending;
        else if (coolingDown()) throw err;
        else await refresh();
        return (local as JWTVerifyGetKey)(header, token);
      }
    },
  };
}

function reasonOf(err: unknown): string {
  if (err instanceof IdpUnavailableError) return 'jwks_unavailable';
  // jose reports an `iat` older than the maximum token age as expired: that is our lifetime rule.
  if (err instanceof errors.JWTExpired)
    return err.claim === 'iat' ? 'token_lifetime_too_long' : 'token_expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return 'missing_claim';
    switch (err.claim) {
      case 'nbf':
        return 'token_not_yet_valid';
      case 'aud':
        return 'wrong_audience';
      case 'iss':
        return 'untrusted_issuer';
      case 'iat':
        return 'token_lifetime_too_long';
      default:
        return 'bad_claims';
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return 'algorithm_not_allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'unknown_key';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'ambiguous_key';
  return 'malformed_token';
}

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function isName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_CLAIM_NAME_LENGTH &&
    !hasControl(value) &&
    value.isWellFormed()
  );
}

function roleOf(issuer: TrustedIssuer, groups: readonly string[]): PersonRole {
  if (groups.some((g) => issuer.adminGroups.includes(g))) return 'admin';
  if (groups.some((g) => issuer.auditorGroups.includes(g))) return 'auditor';
  return 'user';
}

function personOf(issuer: TrustedIssuer, payload: JWTPayload): TokenResult {
  const user = payload[issuer.userClaim];
  if (!isName(user)) return { ok: false, reason: 'bad_user_claim' };
  const raw = payload[issuer.groupsClaim];
  let groups: string[] = [];
  if (raw !== undefined) {
    if (!Array.isArray(raw) || raw.length > MAX_TOKEN_GROUPS || !raw.every(isName)) {
      return { ok: false, reason: 'bad_groups_claim' };
    }
    groups = [...new Set(raw)];
  }
  const caller: PersonCaller = Object.freeze({
    kind: 'person',
    principal: `${PERSON_PRINCIPAL_PREFIX}${user}`,
    groups: Object.freeze(groups),
    issuer: issuer.issuer,
    role: roleOf(issuer, groups),
  });
  return { ok: true, caller };
}

export function createTokenValidator(
  config: OidcConfig,
  options: TokenValidatorOptions = {},
): TokenValidator {
  let fetches = 0;
  const opts = {
    jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
    jwksMaxAgeMs: options.jwksMaxAgeMs ?? 10 * 60_000,
    fetchTimeoutMs: options.fetchTimeoutMs ?? 5_000,
    now: options.now ?? Date.now,
    fetch: options.fetch ?? fetch,
    counted: () => {
      fetches += 1;
    },
  };
  const issuers = new Map<string, { config: TrustedIssuer; keys: IssuerKeys }>();
  for (const issuer of config.issuers)
    issuers.set(issuer.issuer, { config: issuer, keys: createIssuerKeys(issuer, opts) });

  return {
    async validate(token) {
      if (token.length === 0) return { ok: false, reason: 'missing_token' };
      if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token_too_large' };
      let iss: unknown;
      try {
        iss = decodeJwt(token).iss;
      } catch {
        return { ok: false, reason: 'malformed_token' };
      }
      // Only configured issuers are ever contacted; any other `iss` is refused without I/O.
      const entry = typeof iss === 'string' ? issuers.get(iss) : undefined;
      if (entry === undefined) return { ok: false, reason: 'untrusted_issuer' };
      const issuer = entry.config;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, entry.keys.getKey, {
          issuer: issuer.issuer,
          audience: issuer.audience,
          algorithms: [...issuer.algorithms],
          clockTolerance: issuer.clockToleranceS,
          requiredClaims: ['exp', 'iat'],
          maxTokenAge: issuer.maxTokenLifetimeS + issuer.clockToleranceS,
          currentDate: new Date(opts.now()),
        }));
      } catch (err) {
        return { ok: false, reason: reasonOf(err) };
      }
      const { exp, iat } = payload as { exp: number; iat: number };
      if (exp - iat > issuer.maxTokenLifetimeS) return { ok: false, reason: 'token_lifetime_too_long' };
      return personOf(issuer, payload);
    },
    fetches: () => fetches,
  };
}
