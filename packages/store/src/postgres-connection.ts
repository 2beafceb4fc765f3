/**
 * How the PostgreSQL backend connects: the pool settings handed to `pg` (node-postgres), built
 * only from explicit options, so nothing is taken from `PG*` environment variables or
 * `~/.pgpass` behind the operator's back.
 *
 * - The password is read from a file each time the server asks for one (so a rotated file is
 *   used by the next connection), never from the command line, the URL or the environment.
 * - TLS: `verify-full` (default) checks the chain and the host name, `verify-ca` the chain only,
 *   `require` encrypts without checking, `disable` sends plain text. A unix-socket host never
 *   uses TLS (as with libpq).
 * - Every session gets `synchronous_commit = on` (an acknowledged write is on disk), the
 *   statement and lock timeouts, a limit on idling inside a transaction, and generic plans for
 *   prepared statements (`plan_cache_mode`).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import type { PoolConfig } from 'pg';

export type PostgresSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/** Where the database is and who connects. */
export interface PostgresConnection {
  /** A host name, an IP address, or an absolute directory holding the unix socket. */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** File whose content (less one trailing newline) is the password; none = no password auth. */
  readonly passwordFile?: string | undefined;
  readonly sslMode: PostgresSslMode;
  /** PEM file of the CAs trusted for the server's certificate; default: Node's CA store. */
  readonly sslRootCert?: string | undefined;
}

/** Pool sizing and timeouts (each maps a `SPIKE_NEXUS_DB_*` setting, see the docs). */
export interface PostgresPoolOptions {
  /** Most open connections. Default 10. */
  readonly maxConnections?: number;
  /** Connections older than this are closed once idle (0 = no limit). Default 1 h. */
  readonly maxLifetimeMs?: number;
  /** Longest statement, and longest wait for a free connection. Default 15 s. */
  readonly operationTimeoutMs?: number;
  /** Longest wait for a row or advisory lock. Default 5 s. */
  readonly lockTimeoutMs?: number;
  /** Close connections idle this long. Default 30 s. */
  readonly idleTimeoutMs?: number;
}

/** The password file could not be read, or the server wants a password and none is configured. */
export class PostgresPasswordError extends Error {
  override readonly name = 'PostgresPasswordError';
}

/** The CA file named for TLS could not be read. */
export class PostgresTlsConfigError extends Error {
  override readonly name = 'PostgresTlsConfigError';
}

/** Where the connection goes, for messages: host:port or the socket dir (never credentials). */
export function describeConnection(c: PostgresConnection): string {
  const where = c.host.startsWith('/') ? `unix socket in ${c.host}` : `${c.host}:${String(c.port)}`;
  return `${where}, database ${c.database}, user ${c.user}`;
}

/** Reads the password file: its content less one trailing newline. */
export async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new PostgresPasswordError(
      `cannot read the password file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new PostgresPasswordError(`the password file ${file} is empty`);
  return password;
}

function tlsOptions(c: PostgresConnection): ConnectionOptions | false {
  if (c.sslMode === 'disable' || c.host.startsWith('/')) return false;
  let ca: string | undefined;
  if (c.sslRootCert !== undefined) {
    try {
      ca = readFileSync(c.sslRootCert, 'utf8');
    } catch (err) {
      throw new PostgresTlsConfigError(
        `cannot read the CA file ${c.sslRootCert}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  const base: ConnectionOptions = { minVersion: 'TLSv1.2', ...(ca === undefined ? {} : { ca }) };
  switch (c.sslMode) {
    case 'require':
      return { ...base, rejectUnauthorized: false };
    case 'verify-ca':
      return { ...base, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ...base, rejectUnauthorized: true };
  }
}

/** The `pg.Pool` configuration for `c` and `pool`. Throws for an unreadable CA file. */
export function poolConfig(
  c: PostgresConnection,
  pool: PostgresPoolOptions = {},
  applicationName = 'spike-nexus',
): PoolConfig {
  const operationTimeoutMs = pool.operationTimeoutMs ?? 15_000;
  const lockTimeoutMs = pool.lockTimeoutMs ?? 5_000;
  const maxLifetimeMs = pool.maxLifetimeMs ?? 3_600_000;
  const passwordFile = c.passwordFile;
  const session = [
    'synchronous_commit=on',
    `statement_timeout=${String(operationTimeoutMs)}`,
    `lock_timeout=${String(lockTimeoutMs)}`,
    `idle_in_transaction_session_timeout=${String(operationTimeoutMs * 2)}`,
    // Named statements keep one plan: every statement of the store is planned well without its
    // parameters' values (primary keys, or per-row lookups), and re-planning the batched read
    // for each call (which PostgreSQL's default does for a statement over arrays) costs more
    // than running it.
    'plan_cache_mode=force_generic_plan',
  ];
  return {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    // Called only when the server asks for a password; never falls back to PGPASSWORD or .pgpass.
    password: () => {
      if (passwordFile === undefined) {
        return Promise.reject(
          new PostgresPasswordError('the server asks for a password and no password file is configured'),
        );
      }
      return readPasswordFile(passwordFile);
    },
    ssl: tlsOptions(c),
    options: session.map((s) => `-c ${s}`).join(' '),
    application_name: applicationName,
    max: pool.maxConnections ?? 10,
    maxLifetimeSeconds: maxLifetimeMs === 0 ? 0 : Math.max(1, Math.ceil(maxLifetimeMs / 1000)),
    idleTimeoutMillis: pool.idleTimeoutMs ?? 30_000,
    connectionTimeoutMillis: operationTimeoutMs,
    // The client gives up a little after the server would have cancelled the statement.
    query_timeout: operationTimeoutMs + 1_000,
    keepAlive: true,
  };
}
