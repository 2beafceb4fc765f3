/** Builds the storage backend named by the configuration. */
import type { Logger, SecretStore } from '@spike-ts/core';
import { createMemoryStore, createSqliteStore, type SqliteStoreOptions } from '@spike-ts/store';
import type { NexusConfig } from './config.ts';

/** `sqlite` adds options for the SQLite backend (the API threads' commit counters). */
export function createStoreFromConfig(
  config: NexusConfig,
  logger: Logger,
  sqlite: Pick<SqliteStoreOptions, 'onCommit' | 'peerChanges'> = {},
): SecretStore {
  if (config.backend === 'memory') return createMemoryStore({ logger });
  return createSqliteStore({
    dataDir: config.dataDir,
    logger,
    journalMode: config.db.journalMode,
    busyTimeoutMs: config.db.busyTimeoutMs,
    ...sqlite,
  });
}
