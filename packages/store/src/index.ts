export { createMemoryStore } from './memory-store.ts';
export type { MemoryStoreOptions } from './memory-store.ts';
export { createSqliteStore } from './sqlite-store.ts';
export type { SqliteStoreOptions, StoreObserver } from './sqlite-store.ts';
export type { PeerChangeTarget } from './row-cache.ts';
export { SQLITE_FILE_NAME, JOURNAL_MODES } from './sqlite-open.ts';
export type { JournalMode } from './sqlite-open.ts';
export { latestSchemaVersion } from './sqlite-schema.ts';
export { MAX_NAME_LENGTH } from './record-copy.ts';
export {
  StoreLockedError,
  StoreClosedError,
  StoreIntegrityError,
  StoreSchemaError,
  InvalidRecordError,
  StoreUnavailableError,
  StoreOutcomeUnknownError,
} from './store-error.ts';
export { openPostgresStore, runPostgresMigrations, isUnavailable } from './postgres-store.ts';
export type { PostgresStoreOptions, PostgresMigrateOptions } from './postgres-store.ts';
export {
  describeConnection,
  PostgresPasswordError,
  PostgresTlsConfigError,
  type PostgresConnection,
  type PostgresPoolOptions,
  type PostgresSslMode,
} from './postgres-connection.ts';
export {
  PG_SCHEMA,
  PG_MIGRATIONS,
  latestPgSchemaVersion,
  migratePostgres,
  checkPostgresSchema,
  runtimeGrants,
  PgSchemaMismatchError,
} from './postgres-schema.ts';
export type { MigrationResult } from './postgres-schema.ts';
