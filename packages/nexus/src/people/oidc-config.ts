/**
 * The OIDC configuration file of the people listener (`SPIKE_NEXUS_OIDC_CONFIG`, ADR 0035): the
 * issuers whose access tokens Nexus trusts, and the console's client. Parsed strictly at start:
 * an unknown field, a wrong type, a symmetric or `none` algorithm, or a plain `http://` issuer
 * that is not on a loopback address is a start-up error naming the field.
 */

/** Asymmetric JWS algorithms only: `none` and HS* (shared secrets) are never accepted. */
export const ALLOWED_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256', 'PS256', 'EdDSA']);
export const DEFAULT_USER_CLAIM = 'preferred_username';
export const DEFAULT_GROUPS_CLAIM = 'groups';
/** Longest accepted token lifetime (exp − iat) by default: one hour. */
export const DEFAULT_MAX_TOKEN_LIFETIME_S = 3600;
export const DEFAULT_CLOCK_TOLERANCE_S = 30;

export interface TrustedIssuer {
  /** Exactly the `iss` of its tokens. */
  readonly issuer: string;
  /** The `aud` its access tokens must carry for this Nexus. */
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly userClaim: string;
  readonly groupsClaim: string;
  /** Tokens whose `exp − iat` is longer are refused (seconds). */
  readonly maxTokenLifetimeS: number;
  readonly clockToleranceS: number;
  /** Members of any of these groups are admins (superusers). */
  readonly adminGroups: readonly string[];
  /** Members of any of these groups (and no admin group) are auditors. */
  readonly auditorGroups: readonly string[];
  /** The JWKS URL; default: `jwks_uri` of the issuer's discovery document. */
  readonly jwksUri: string | undefined;
}

/** The web console's OIDC client (used by the console; ADR 0038). */
export interface ConsoleClientConfig {
  readonly issuer: string;
  readonly clientId: string;
  /** Path of the file holding the client secret (read by the console). */
  readonly clientSecretFile: string | undefined;
  /** The URL people open, e.g. `https://nexus.example.com:8555` (redirects are built from it). */
  readonly publicBaseUrl: string;
}

export interface OidcConfig {
  readonly issuers: readonly TrustedIssuer[];
  readonly console: ConsoleClientConfig | undefined;
}

/** A problem in the OIDC configuration file; the message names the field. */
export class OidcConfigError extends Error {
  override readonly name = 'OidcConfigError';
}

type Obj = Record<string, unknown>;

function object(value: unknown, where: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OidcConfigError(`${where}: must be a JSON object`);
  }
  return value as Obj;
}

function onlyFields(o: Obj, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key))
      throw new OidcConfigError(`${where}: unknown field "${key}" (allowed: ${allowed.join(', ')})`);
  }
}

function text(o: Obj, key: string, where: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || v === '')
    throw new OidcConfigError(`${where}.${key}: must be a non-empty string`);
  return v;
}

function optionalText(o: Obj, key: string, where: string): string | undefined {
  return o[key] === undefined ? undefined : text(o, key, where);
}

function texts(o: Obj, key: string, where: string, fallback: readonly string[]): readonly string[] {
  const v = o[key];
  if (v === undefined) return fallback;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
    throw new OidcConfigError(`${where}.${key}: must be a list of non-empty strings`);
  }
  return Object.freeze([...(v as string[])]);
}

function seconds(o: Obj, key: string, where: string, fallback: number, max: number): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new OidcConfigError(`${where}.${key}: must be a whole number of seconds, 0..${max}`);
  }
  return v;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** An `https://` URL, or `http://` on a loopback address (development and tests only). */
export function checkIdpUrl(value: string, where: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OidcConfigError(`${where}: must be an absolute URL`);
  }
  if (url.protocol === 'https:') return value;
  if (url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith('127.'))) {
    return value;
  }
  throw new OidcConfigError(`${where}: must be an https:// URL (plain http:// only on a loopback address)`);
}

function parseIssuer(value: unknown, where: string): TrustedIssuer {
  const o = object(value, where);
  onlyFields(
    o,
    [
      'issuer',
      'audience',
      'algorithms',
      'userClaim',
      'groupsClaim',
      'maxTokenLifetimeSeconds',
      'clockToleranceSeconds',
      'adminGroups',
      'auditorGroups',
      'jwksUri',
    ],
    where,
  );
  const algorithms = texts(o, 'algorithms', where, DEFAULT_ALGORITHMS);
  for (const alg of algorithms) {
    if (!ALLOWED_ALGORITHMS.includes(alg)) {
      throw new OidcConfigError(
        `${where}.algorithms: "${alg}" is not allowed; use asymmetric algorithms only (${ALLOWED_ALGORITHMS.join(', ')})`,
      );
    }
  }
  if (algorithms.length === 0) throw new OidcConfigError(`${where}.algorithms: must not be empty`);
  const jwksUri = optionalText(o, 'jwksUri', where);
  return Object.freeze({
    issuer: checkIdpUrl(text(o, 'issuer', where), `${where}.issuer`),
    audience: text(o, 'audience', where),
    algorithms,
    userClaim: text(o, 'userClaim', where, DEFAULT_USER_CLAIM),
    groupsClaim: text(o, 'groupsClaim', where, DEFAULT_GROUPS_CLAIM),
    maxTokenLifetimeS: seconds(o, 'maxTokenLifetimeSeconds', where, DEFAULT_MAX_TOKEN_LIFETIME_S, 86_400),
    clockToleranceS: seconds(o, 'clockToleranceSeconds', where, DEFAULT_CLOCK_TOLERANCE_S, 300),
    adminGroups: texts(o, 'adminGroups', where, []),
    auditorGroups: texts(o, 'auditorGroups', where, []),
    jwksUri: jwksUri === undefined ? undefined : checkIdpUrl(jwksUri, `${where}.jwksUri`),
  });
}

function parseConsole(value: unknown): ConsoleClientConfig {
  const where = 'console';
  const o = object(value, where);
  onlyFields(o, ['issuer', 'clientId', 'clientSecretFile', 'publicBaseUrl'], where);
  const publicBaseUrl = text(o, 'publicBaseUrl', where);
  try {
    if (new URL(publicBaseUrl).protocol !== 'https:') throw new Error('not https');
  } catch {
    throw new OidcConfigError(`${where}.publicBaseUrl: must be the https:// URL people open`);
  }
  return Object.freeze({
    issuer: checkIdpUrl(text(o, 'issuer', where), `${where}.issuer`),
    clientId: text(o, 'clientId', where),
    clientSecretFile: optionalText(o, 'clientSecretFile', where),
    publicBaseUrl,
  });
}

/** Parses the text of the configuration file. Throws `OidcConfigError`. */
export function parseOidcConfig(textValue: string): OidcConfig {
  let json: unknown;
  try {
    json = JSON.parse(textValue);
  } catch {
    throw new OidcConfigError('the file is not valid JSON');
  }
  const o = object(json, 'the file');
  onlyFields(o, ['issuers', 'console'], 'the file');
  const list = o.issuers;
  if (!Array.isArray(list) || list.length === 0) {
    throw new OidcConfigError('issuers: must be a non-empty list of trusted issuers');
  }
  const issuers = list.map((entry, i) => parseIssuer(entry, `issuers[${i}]`));
  const seen = new Set<string>();
  for (const i of issuers) {
    if (seen.has(i.issuer)) throw new OidcConfigError(`issuers: "${i.issuer}" is listed twice`);
    seen.add(i.issuer);
  }
  const consoleBlock = o.console === undefined ? undefined : parseConsole(o.console);
  if (consoleBlock !== undefined && !seen.has(consoleBlock.issuer)) {
    throw new OidcConfigError('console.issuer: must be one of the trusted issuers');
  }
  return Object.freeze({ issuers: Object.freeze(issuers), console: consoleBlock });
}
