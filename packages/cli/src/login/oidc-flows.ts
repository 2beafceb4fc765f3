/**
 * @module login/oidc-flows
 * The OpenID Connect parts of `spike login` / `spike logout` (ADR 0037), through `openid-client`:
 * discovery, the device authorization grant (prints a URL and a code; works over SSH), the
 * authorization-code flow with PKCE (S256) and a loopback redirect on 127.0.0.1, refresh, and
 * logout (revoke the refresh token and end the session where the provider supports it). Plain
 * `http://` issuers are accepted only on a loopback address (development and tests).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError, ExitCode } from '../exit-code.ts';

import type * as OpenIdClient from 'openid-client';
import type { Configuration } from 'openid-client';

type Client = typeof OpenIdClient;

export interface OidcTarget {
  readonly issuer: string;
  readonly clientId: string;
}

export interface TokenSet {
  readonly accessToken: string;
  readonly expiresAt: number;
  readonly refreshToken?: string;
  readonly idToken?: string;
  readonly user?: string;
}

/** PKCE is used with the device grant too: providers that require it for the client (Keycloak) get it. */
const SCOPE = 'openid';

let loaded: Client | undefined;
async function oidc(): Promise<Client> {
  loaded ??= await import('openid-client');
  return loaded;
}

function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === '[::1]' || host === 'localhost';
}

/** Checks the issuer URL: https, or http on a loopback address only. */
export function checkIssuer(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new CliError(`The OIDC issuer '${issuer}' is not a valid URL.`, ExitCode.Usage);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new CliError(
    `The OIDC issuer '${issuer}' must be an https:// URL (plain http:// only on a loopback address, for development).`,
    ExitCode.Usage,
  );
}

function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** Discovery; an unreachable or broken provider becomes a clear error naming the issuer. */
export async function discover(target: OidcTarget): Promise<Configuration> {
  const url = checkIssuer(target.issuer);
  const client = await oidc();
  try {
    return await client.discovery(url, target.clientId, undefined, client.None(), {
      ...(url.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
      timeout: 30,
    });
  } catch (err) {
    throw new CliError(
      `Cannot reach the OpenID provider at ${target.issuer} (discovery failed: ${reasonOf(err)}). ` +
        'Check SPIKE_OIDC_ISSUER (or --issuer) and that the provider is up.',
      ExitCode.Unreachable,
    );
  }
}

function tokenSet(res: {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expiresIn(): number | undefined;
  claims(): Record<string, unknown> | undefined;
}): TokenSet {
  const claims = res.id_token === undefined ? undefined : res.claims();
  const user = claims?.['preferred_username'] ?? claims?.['sub'];
  return {
    accessToken: res.access_token,
    // Without expires_in, assume five minutes; the server checks the token anyway.
    expiresAt: Date.now() + (res.expiresIn() ?? 300) * 1000,
    ...(res.refresh_token === undefined ? {} : { refreshToken: res.refresh_token }),
    ...(res.id_token === undefined ? {} : { idToken: res.id_token }),
    ...(typeof user === 'string' ? { user } : {}),
  };
}

function providerError(what: string, target: OidcTarget, err: unknown): CliError {
  if (err instanceof CliError) return err;
  const code = (err as { error?: unknown }).error;
  const desc = (err as { error_description?: unknown }).error_description;
  const detail =
    typeof code === 'string' ? `${code}${typeof desc === 'string' ? `: ${desc}` : ''}` : reasonOf(err);
  return new CliError(`${what} at ${target.issuer} failed (${detail}).`, ExitCode.Unauthorized);
}

/** Device authorization grant: prints where to go and the code, then polls until approved. */
export async function deviceLogin(
  target: OidcTarget,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<TokenSet> {
  const config = await discover(target);
  const client = await oidc();
  if (config.serverMetadata().device_authorization_endpoint === undefined) {
    throw new CliError(
      `The OpenID provider at ${target.issuer} offers no device authorization grant; use \`spike login --browser\`.`,
      ExitCode.Usage,
    );
  }
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  let device;
  try {
    device = await client.initiateDeviceAuthorization(config, {
      scope: SCOPE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
  } catch (err) {
    throw providerError('Starting the device login', target, err);
  }
  say(`To log in, open this URL in a browser (on any device):\n\n  ${device.verification_uri}\n`);
  say(`and enter the code:  ${device.user_code}\n`);
  if (device.verification_uri_complete !== undefined) {
    say(`(or open ${device.verification_uri_complete} directly)\n`);
  }
  say(
    `Waiting for the approval (the code expires in ${String(Math.round(device.expires_in / 60))} min)...\n`,
  );
  try {
    const res = await client.pollDeviceAuthorizationGrant(
      config,
      device,
      { code_verifier: verifier },
      signal === undefined ? {} : { signal },
    );
    return tokenSet(res);
  } catch (err) {
    throw providerError('The device login', target, err);
  }
}

export interface BrowserLoginOptions {
  /** Loopback port for the redirect (0 = any free port). */
  readonly port?: number;
  /** How long to wait for the browser (default 5 min). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const DONE_PAGE =
  '<!doctype html><meta charset="utf-8"><title>spike login</title>' +
  '<p>Logged in to SPIKE. You can close this window and return to the terminal.</p>\n';

/**
 * Authorization-code flow with PKCE: a one-shot HTTP server on 127.0.0.1 receives the redirect;
 * the URL to open is printed (no browser is started).
 */
export async function browserLogin(
  target: OidcTarget,
  say: (line: string) => void,
  opts: BrowserLoginOptions = {},
): Promise<TokenSet> {
  const config = await discover(target);
  const client = await oidc();
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();

  let onCallback: (url: URL) => void = () => undefined;
  const callback = new Promise<URL>((resolve) => (onCallback = resolve));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const fromProvider = url.searchParams.has('code') || url.searchParams.has('error');
    if (!fromProvider || url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('unexpected request\n');
      return;
    }
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'",
        'cache-control': 'no-store',
      })
      .end(DONE_PAGE);
    onCallback(url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new CliError(`Cannot listen on 127.0.0.1 for the login redirect: ${err.message}`, ExitCode.General),
      ),
    );
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const redirectUri = `http://127.0.0.1:${String(port)}/callback`;
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
    });
    say(`To log in, open this URL in a browser on this computer:\n\n  ${authUrl.href}\n`);
    say(`Waiting for the browser to come back to ${redirectUri} ...\n`);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CliError(
              `No login within ${String(Math.round(timeoutMs / 1000))} s; run \`spike login\` again.`,
              ExitCode.General,
            ),
          ),
        timeoutMs,
      );
    });
    const aborted = new Promise<never>((_, reject) =>
      opts.signal?.addEventListener(
        'abort',
        () => reject(new CliError('Login cancelled.', ExitCode.General)),
        {
          once: true,
        },
      ),
    );
    const current = await Promise.race([callback, timeout, aborted]);
    const error = current.searchParams.get('error');
    if (error !== null) {
      const desc = current.searchParams.get('error_description');
      throw new CliError(
        `The OpenID provider refused the login (${error}${desc === null ? '' : `: ${desc}`}).`,
        ExitCode.Unauthorized,
      );
    }
    try {
      const res = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      return tokenSet(res);
    } catch (err) {
      throw providerError('Exchanging the login code', target, err);
    }
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Refresh-token grant; an expired or revoked refresh token says to log in again. */
export async function refreshLogin(target: OidcTarget, refreshToken: string): Promise<TokenSet> {
  const config = await discover(target);
  const client = await oidc();
  try {
    const res = await client.refreshTokenGrant(config, refreshToken);
    const set = tokenSet(res);
    // Providers may keep the refresh token (no rotation): keep using the old one then.
    return set.refreshToken === undefined ? { ...set, refreshToken } : set;
  } catch (err) {
    const code = (err as { error?: unknown }).error;
    if (code === 'invalid_grant') {
      throw new CliError(
        `Your login at ${target.issuer} has expired (the refresh token is no longer valid). Run \`spike login\`.`,
        ExitCode.Unauthorized,
      );
    }
    throw providerError('Refreshing the login', target, err);
  }
}

/**
 * Ends the login at the provider: revokes the refresh token (RFC 7009) and, where the provider
 * has an end-session endpoint that takes it (Keycloak), ends the session. Returns what was done.
 */
export async function endLogin(
  target: OidcTarget,
  tokens: { refreshToken?: string; idToken?: string },
): Promise<string[]> {
  const done: string[] = [];
  const config = await discover(target);
  const client = await oidc();
  const meta = config.serverMetadata();
  if (tokens.refreshToken !== undefined && meta.revocation_endpoint !== undefined) {
    try {
      await client.tokenRevocation(config, tokens.refreshToken, { token_type_hint: 'refresh_token' });
      done.push('revoked the refresh token');
    } catch (err) {
      done.push(`could not revoke the refresh token (${reasonOf(err)})`);
    }
  }
  if (meta.end_session_endpoint !== undefined && tokens.refreshToken !== undefined) {
    try {
      const res = await fetch(meta.end_session_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: target.clientId,
          refresh_token: tokens.refreshToken,
          ...(tokens.idToken === undefined ? {} : { id_token_hint: tokens.idToken }),
        }),
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 204 || res.status === 200) done.push('ended the session');
    } catch {
      // Best effort: the tokens are revoked and removed locally either way.
    }
  }
  return done;
}
