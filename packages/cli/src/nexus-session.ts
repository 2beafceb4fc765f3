/**
 * @module nexus-session
 * Runs one command against Nexus: obtain this CLI's SVID, check that it carries the Pilot role
 * the command needs (before anything is sent), open the SDK client, run, translate failures,
 * and close everything. The identity library and the error translation (which needs the SDK)
 * are imported on first use, so building the command tree loads neither.
 */
import type { X509Source } from '@spike-ts/identity/client';
import type { SpikeClient } from '@spike-ts/sdk';
import type { CliIo } from './cli-io.ts';
import type { ErrorContext } from './describe-error.ts';
import { CliError, ExitCode } from './exit-code.ts';
import type { CachedLogin } from './login/token-cache.ts';

export type PilotRole = 'superuser' | 'recover' | 'restore';
/** A Pilot role the SVID must carry, or `any`: any SVID of the trust domain (Nexus decides). */
export type CommandRole = PilotRole | 'any';

const ROLE_PATH: Readonly<Record<PilotRole, string>> = {
  superuser: 'spike/pilot/role/superuser',
  recover: 'spike/pilot/role/recover',
  restore: 'spike/pilot/role/restore',
};

/** Messages for the failures the command wants to word itself. */
export type CommandMessages = Pick<ErrorContext, 'notFound' | 'badRequest' | 'internal' | 'approval'>;

export interface NexusCall {
  readonly client: SpikeClient;
  /** This CLI's own SPIFFE ID, or `user:<name>` through a login. */
  readonly spiffeId: string;
  /** How this command reaches Nexus: with the SVID (mTLS) or with a person's login. */
  readonly door: 'mtls' | 'people';
}

/** Obtain the SVID source; a failure becomes the "no SVID" error naming the socket. */
export async function openIdentity(io: CliIo, timeoutMs?: number): Promise<X509Source> {
  try {
    return await io.openSource(timeoutMs === undefined ? {} : { timeoutMs });
  } catch (err) {
    const socket = io.env['SPIFFE_ENDPOINT_SOCKET'];
    const where =
      socket === undefined || socket.trim() === ''
        ? 'the default socket unix:///tmp/spire-agent/public/api.sock (SPIFFE_ENDPOINT_SOCKET is not set)'
        : `${socket} (from SPIFFE_ENDPOINT_SOCKET)`;
    const reason = (err instanceof Error ? err.message : String(err)).replace(/\.\s*$/, '');
    const advice = /check that/i.test(reason)
      ? ''
      : ' Check that the SPIRE agent (or the dev identity issuer) is running, that SPIFFE_ENDPOINT_SOCKET ' +
        'points at its socket and that this user may open it, and that this CLI is registered for a ' +
        'SPIKE Pilot identity.';
    const person =
      socket === undefined || socket.trim() === ''
        ? ' As a person, log in with `spike login` instead (commands then use the login).'
        : '';
    throw new CliError(
      `No SVID: could not get an X.509-SVID from the SPIFFE Workload API at ${where}: ${reason}.${advice}${person}`,
      ExitCode.NoIdentity,
    );
  }
}

/** Throw unless `spiffeId` has the Pilot `role` for the configured trust roots. */
export async function requireRole(
  spiffeId: string,
  role: PilotRole | readonly PilotRole[],
  env: CliIo['env'],
): Promise<void> {
  const { isPilotRecover, isPilotRestore, isPilotSuperuser, trustRootsFromEnv } =
    await import('@spike-ts/identity/client');
  const roots = trustRootsFromEnv({ ...env });
  const roles: readonly PilotRole[] = typeof role === 'string' ? [role] : role;
  const ok = roles.some((r) =>
    r === 'superuser'
      ? isPilotSuperuser(spiffeId, roots)
      : r === 'recover'
        ? isPilotRecover(spiffeId, roots)
        : isPilotRestore(spiffeId, roots),
  );
  if (ok) return;
  const expected = roots.pilot
    .flatMap((root) => roles.map((r) => `spiffe://${root}/${ROLE_PATH[r]}`))
    .join(' or ');
  throw new CliError(
    `This command needs the SPIKE Pilot ${roles.join(' or ')} role, but this CLI's SVID is ${spiffeId}. ` +
      `Expected ${expected} (trust roots from SPIKE_TRUST_ROOT_PILOT). ` +
      'Register the CLI for that SPIFFE ID (or switch its registration entry) and try again.',
    ExitCode.Unauthorized,
  );
}

/** Run `fn` with a client for Nexus, after the role check; always closes the client and source. */
export async function withNexus<T>(
  io: CliIo,
  role: CommandRole | readonly PilotRole[],
  fn: (call: NexusCall) => Promise<T>,
  messages: CommandMessages = {},
): Promise<T> {
  // No Workload API socket and a `spike login`: act as that person on the people listener.
  const { noWorkloadSocket } = await import('./login/people-session.ts');
  if (noWorkloadSocket(io.env)) {
    const { readLogin } = await import('./login/token-cache.ts');
    const login = await readLogin(io.env);
    if (login !== undefined) return withPeople(io, login, fn, messages);
  }
  const source = await openIdentity(io);
  let spiffeId: string | undefined;
  try {
    spiffeId = source.getX509Svid().spiffeId;
    if (role !== 'any') await requireRole(spiffeId, role, io.env);
    const client = await io.openClient(source, {});
    try {
      return await fn({ client, spiffeId, door: 'mtls' });
    } finally {
      await client.close();
    }
  } catch (err) {
    const { toCliError } = await import('./describe-error.ts');
    throw toCliError(err, { env: io.env, ...(spiffeId === undefined ? {} : { spiffeId }), ...messages });
  } finally {
    await source.close();
  }
}

/** `withNexus` for a person logged in with `spike login` (no local role check: Nexus decides). */
async function withPeople<T>(
  io: CliIo,
  login: CachedLogin,
  fn: (call: NexusCall) => Promise<T>,
  messages: CommandMessages,
): Promise<T> {
  const { openPeopleClient, peopleError, peopleUrlOf } = await import('./login/people-session.ts');
  const principal = `user:${login.user ?? '?'}`;
  try {
    const client = await openPeopleClient(io, login);
    try {
      return await fn({ client, spiffeId: principal, door: 'people' });
    } finally {
      await client.close();
    }
  } catch (err) {
    const { toCliError } = await import('./describe-error.ts');
    throw toCliError(peopleError(err, login, peopleUrlOf(io.env, login) ?? ''), {
      env: io.env,
      spiffeId: principal,
      ...messages,
    });
  }
}
