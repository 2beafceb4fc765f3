/** Builds the storage backend named by the configuration. */
import type { Logger, SecretStore } from '@spike-ts/core';
import {
  createMemoryStore,
  createSqliteStore,
  openPostgresStore,
  PgSchemaMismatchError,
  PostgresPasswordError,
  PostgresTlsConfigError,
  StoreUnavailableError,
  describeConnection,
  isUnavailable,
  type PostgresConnection,
  type PostgresPoolOptions,
  type SqliteStoreOptions,
} from '@spike-ts/store';
import type { NexusConfig, PostgresConfig } from './config.ts';

/** The backend could not be opened; the message names the settings to look at. */
export class StoreStartError extends Error {
  override readonly name = 'StoreStartError';
}

/** Which thread a store is for: its PostgreSQL pool gets that thread's share of the connections. */
export type StoreThread = 'main' | 'api';

/**
 * `sqlite` adds options for the SQLite backend (the API threads' commit counters, metrics); its
 * `observer` (metrics) is given to the PostgreSQL backend too. `thread` says whose share of
 * `SPIKE_NEXUS_DB_MAX_OPEN_CONNS` a PostgreSQL pool gets.
 */
export async function createStoreFromConfig(
  config: NexusConfig,
  logger: Logger,
  sqlite: Pick<SqliteStoreOptions, 'onCommit' | 'peerChanges' | 'observer' | 'pageCacheKiB'> = {},
  thread: StoreThread = 'main',
): Promise<SecretStore> {
  if (config.backend === 'memory') return createMemoryStore({ logger });
  if (config.backend === 'postgres' && config.postgres !== undefined) {
    const connection = postgresConnection(config.postgres);
    try {
      return await openPostgresStore({
        connection,
        pool: postgresPool(config, thread),
        schema: config.db.skipSchemaCreation ? 'check' : 'migrate',
        initializationTimeoutMs: config.db.initializationTimeoutMs,
        logger,
        // Group commit batch sizes and read-cache hits for the metrics.
        ...(sqlite.observer === undefined ? {} : { observer: sqlite.observer }),
      });
    } catch (err) {
      throw postgresStartError(err, connection, config.db.skipSchemaCreation);
    }
  }
  return createSqliteStore({
    dataDir: config.dataDir,
    logger,
    journalMode: config.db.journalMode,
    busyTimeoutMs: config.db.busyTimeoutMs,
    ...sqlite,
  });
}

export function postgresConnection(pg: PostgresConfig): PostgresConnection {
  return {
    host: pg.url.host,
    port: pg.url.port,
    database: pg.url.database,
    user: pg.url.user,
    passwordFile: pg.passwordFile,
    sslMode: pg.sslMode,
    sslRootCert: pg.sslRootCert,
  };
}

/**
 * How the `SPIKE_NEXUS_DB_*` knobs map onto the pool of one thread (see docs/configuration.md).
 * `SPIKE_NEXUS_DB_MAX_OPEN_CONNS` is the budget of the whole process (ADR 0047), split by
 * `poolShare`.
 */
export function postgresPool(config: NexusConfig, thread: StoreThread = 'main'): PostgresPoolOptions {
  return {
    maxConnections: poolShare(config.db.maxOpenConns, config.apiThreads, thread),
    maxLifetimeMs: config.db.connMaxLifetimeMs,
    operationTimeoutMs: config.db.operationTimeoutMs,
    lockTimeoutMs: config.db.busyTimeoutMs,
  };
}

/**
 * One thread's pooled connections out of the process's `budget`: each API thread gets
 * `budget ÷ threads` rounded down, the main thread (which runs every write) the rest, so the
 * shares add up to the budget exactly. At least one each (the configuration keeps the thread
 * count within the budget on PostgreSQL).
 */
export function poolShare(budget: number, threads: number, thread: StoreThread): number {
  const n = Math.max(1, threads);
  const each = Math.max(1, Math.floor(budget / n));
  return thread === 'api' ? each : Math.max(1, budget - each * (n - 1));
}

/** A start-up failure of the PostgreSQL backend, worded with the settings an operator can change. */
export function postgresStartError(err: unknown, c: PostgresConnection, skipSchema: boolean): Error {
  const where = describeConnection(c);
  if (err instanceof PgSchemaMismatchError) {
    const skip = skipSchema ? ' (SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION=true: Nexus runs no DDL)' : '';
    return new StoreStartError(`PostgreSQL at ${where}: ${err.message}${skip}`, { cause: err });
  }
  if (err instanceof StoreUnavailableError || isUnavailable(err)) {
    return new StoreStartError(
      `${err instanceof Error ? err.message : String(err)}. Check SPIKE_NEXUS_POSTGRES_URL and that the ` +
        'database accepts connections (waited SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT)',
      { cause: err },
    );
  }
  if (err instanceof PostgresPasswordError) {
    return new StoreStartError(`${err.message} (SPIKE_NEXUS_POSTGRES_PASSWORD_FILE)`, { cause: err });
  }
  if (err instanceof PostgresTlsConfigError) {
    return new StoreStartError(`${err.message} (SPIKE_NEXUS_POSTGRES_SSLROOTCERT)`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StoreStartError(
    `cannot open the PostgreSQL database (${where}): ${message}. Check SPIKE_NEXUS_POSTGRES_URL, ` +
      'SPIKE_NEXUS_POSTGRES_PASSWORD_FILE, SPIKE_NEXUS_POSTGRES_SSLMODE and SPIKE_NEXUS_POSTGRES_SSLROOTCERT',
    { cause: err },
  );
}
