/**
 * The console's OpenID Connect relying party, on `openid-client`: the authorization-code flow
 * with PKCE (S256), `state` and `nonce`; token refresh; RP-initiated logout at the provider's
 * `end_session_endpoint`. The provider's metadata is discovered once, on first use, and again
 * after a failure.
 */
import * as client from 'openid-client';
import type { SessionTokens } from './session.ts';

export interface LoginChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** What the console asks of the identity provider (a port, so page tests need no provider). */
export interface OidcRelyingParty {
  /** Where to send the browser to log in. */
  authorizationUrl(checks: LoginChecks): Promise<URL>;
  /** Redeems the code in the callback URL (state, nonce and PKCE checked); throws when refused. */
  finishLogin(callbackUrl: URL, checks: LoginChecks): Promise<SessionTokens>;
  /** New tokens for a refresh token; throws when refused. */
  refresh(refreshToken: string): Promise<SessionTokens>;
  /** The provider's logout URL (ends its session), or undefined when it has none. */
  logoutUrl(idToken: string | undefined): Promise<URL | undefined>;
}

export interface OidcOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** A confidential client's secret; without one the console is a public client (PKCE only). */
  readonly clientSecret?: string;
  /** `<public base URL>/console/callback`, registered at the provider. */
  readonly redirectUri: string;
  /** Where the provider sends the browser after logout, registered at the provider. */
  readonly postLogoutRedirectUri: string;
  /** Time out each request to the provider after this long (default 10 s). */
  readonly timeoutMs?: number;
}

/** True for an `http:` URL whose host is a loopback address (the only plain-HTTP issuer allowed). */
export function isLoopbackHttp(url: URL): boolean {
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function tokensOf(
  response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  now: number,
): SessionTokens {
  const expiresIn = response.expiresIn();
  return {
    accessToken: response.access_token,
    // Without expires_in, treat the token as good for one minute and refresh then.
    accessExpiresAt: now + (expiresIn === undefined ? 60 : expiresIn) * 1000,
    ...(response.refresh_token === undefined ? {} : { refreshToken: response.refresh_token }),
    ...(response.id_token === undefined ? {} : { idToken: response.id_token }),
  };
}

export function createOidcRelyingParty(options: OidcOptions): OidcRelyingParty {
  const issuer = new URL(options.issuer);
  if (issuer.protocol !== 'https:' && !isLoopbackHttp(issuer)) {
    throw new Error(
      `console issuer ${options.issuer} must be https:// (plain http:// only on a loopback address, for development)`,
    );
  }
  const insecure = issuer.protocol === 'http:';
  const timeoutSeconds = Math.ceil((options.timeoutMs ?? 10_000) / 1000);
  let config: Promise<client.Configuration> | undefined;

  const configuration = (): Promise<client.Configuration> => {
    if (config === undefined) {
      config = client.discovery(
        issuer,
        options.clientId,
        undefined,
        options.clientSecret === undefined ? client.None() : client.ClientSecretPost(options.clientSecret),
        {
          ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
          timeout: timeoutSeconds,
        },
      );
      // A failed discovery is retried on the next login instead of failing forever.
      config.catch(() => {
        config = undefined;
      });
    }
    return config;
  };

  return {
    async authorizationUrl(checks) {
      const c = await configuration();
      return client.buildAuthorizationUrl(c, {
        redirect_uri: options.redirectUri,
        scope: 'openid',
        response_type: 'code',
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
      });
    },
    async finishLogin(callbackUrl, checks) {
      const c = await configuration();
      const response = await client.authorizationCodeGrant(c, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      return tokensOf(response, Date.now());
    },
    async refresh(refreshToken) {
      const c = await configuration();
      return tokensOf(await client.refreshTokenGrant(c, refreshToken), Date.now());
    },
    async logoutUrl(idToken) {
      const c = await configuration();
      if (c.serverMetadata().end_session_endpoint === undefined) return undefined;
      return client.buildEndSessionUrl(c, {
        post_logout_redirect_uri: options.postLogoutRedirectUri,
        client_id: options.clientId,
        ...(idToken === undefined ? {} : { id_token_hint: idToken }),
      });
    },
  };
}
