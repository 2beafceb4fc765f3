/**
 * @module login/people-session
 * Commands as a person (ADR 0037): when no Workload API socket is set and `spike login` left a
 * login, every command talks to Nexus's people listener with the login's access token, refreshed
 * with the refresh token shortly before it expires (the cache file is rewritten). No Pilot role
 * check happens locally: Nexus decides from the person's principal and groups.
 */
import type { SpikeClient } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';
import { CliError, ExitCode } from '../exit-code.ts';
import { writeLogin, type CachedLogin } from './token-cache.ts';

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000;

/** True when no Workload API socket is configured (then a login, if any, is used). */
export function noWorkloadSocket(env: CliIo['env']): boolean {
  const socket = env['SPIFFE_ENDPOINT_SOCKET'];
  return socket === undefined || socket.trim() === '';
}

/** The people listener URL: SPIKE_PEOPLE_URL wins over the one stored at login. */
export function peopleUrlOf(env: CliIo['env'], login?: CachedLogin): string | undefined {
  const fromEnv = env['SPIKE_PEOPLE_URL']?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return login?.peopleUrl;
}

/** A token provider over the cached login: refreshes (and rewrites the cache) when needed. */
export function tokenProvider(io: CliIo, first: CachedLogin): () => Promise<string> {
  let login = first;
  return async () => {
    if (login.expiresAt - REFRESH_MARGIN_MS > Date.now()) return login.accessToken;
    if (login.refreshToken === undefined) {
      throw new CliError(
        `Your login at ${login.issuer} has expired and cannot be refreshed. Run \`spike login\`.`,
        ExitCode.Unauthorized,
      );
    }
    const { refreshLogin } = await import('./oidc-flows.ts');
    const fresh = await refreshLogin({ issuer: login.issuer, clientId: login.clientId }, login.refreshToken);
    login = {
      ...login,
      accessToken: fresh.accessToken,
      expiresAt: fresh.expiresAt,
      ...(fresh.refreshToken === undefined ? {} : { refreshToken: fresh.refreshToken }),
      ...(fresh.idToken === undefined ? {} : { idToken: fresh.idToken }),
    };
    await writeLogin(io.env, login);
    return login.accessToken;
  };
}

/** A SDK client for the people listener with the cached login. */
export async function openPeopleClient(io: CliIo, login: CachedLogin): Promise<SpikeClient> {
  const { createPeopleClient } = await import('@spike-ts/sdk');
  const peopleUrl = peopleUrlOf(io.env, login);
  if (peopleUrl === undefined) {
    throw new CliError(
      'No people listener URL: set SPIKE_PEOPLE_URL or run `spike login --people-url URL`.',
      ExitCode.Usage,
    );
  }
  const caFile = io.env['SPIKE_PEOPLE_CA_FILE']?.trim() || login.peopleCaFile;
  return createPeopleClient({
    peopleUrl,
    accessToken: tokenProvider(io, login),
    ...(caFile === undefined || caFile === '' ? {} : { caFile }),
  });
}

/** Translates what the people door adds to the SDK's errors (401: the token was not accepted). */
export function peopleError(err: unknown, login: CachedLogin, peopleUrl: string): unknown {
  const e = err as { status?: unknown; code?: unknown; name?: unknown };
  if (typeof e !== 'object' || e === null) return err;
  // The token provider's own errors (expired login, provider unreachable) come wrapped by the SDK.
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof CliError) return cause;
  const who = login.user === undefined ? 'you' : `user:${login.user}`;
  if (e.code === 'nexus_unreachable') {
    const reason = (err as { cause?: unknown }).cause;
    return new CliError(
      `Cannot reach the SPIKE Nexus people listener at ${peopleUrl}` +
        `${reason instanceof Error ? `: ${reason.message}` : ''}. Check SPIKE_PEOPLE_URL (or the URL given to ` +
        '`spike login`), that Nexus runs with its people listener on, and SPIKE_PEOPLE_CA_FILE for its certificate.',
      ExitCode.Unreachable,
    );
  }
  // A 403 approval_required is not a denial: the caller may, once others approve (exit 8).
  if (e.code === 'approval_required') return err;
  if (e.code === 'access_unauthorized' || e.status === 403) {
    return new CliError(
      `Unauthorized: SPIKE Nexus denied this request for ${who}. Ask an administrator for a policy ` +
        'that grants you (or one of your groups) the needed permission.',
      ExitCode.Unauthorized,
    );
  }
  if (e.status === 401) {
    return new CliError(
      `SPIKE Nexus at ${peopleUrl} did not accept your login token (HTTP 401: the token is missing, invalid or expired). Run \`spike login\` again.`,
      ExitCode.Unauthorized,
    );
  }
  return err;
}
