/** Builds the storage backend named by the configuration. */
import type { Logger, SecretStore } from '@spike-ts/core';
import { createMemoryStore, createSqliteStore } from '@spike-ts/store';
import type { NexusConfig } from './config.ts';

export function createStoreFromConfig(config: NexusConfig, logger: Logger): SecretStore {
  if (config.backend === 'memory') return createMemoryStore({ logger });
  return createSqliteStore({
    dataDir: config.dataDir,
    logger,
    journalMode: config.db.journalMode,
    busyTimeoutMs: config.db.busyTimeoutMs,
  });
}
