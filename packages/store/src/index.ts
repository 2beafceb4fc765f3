export { createMemoryStore } from './memory-store.ts';
export type { MemoryStoreOptions } from './memory-store.ts';
export { createSqliteStore } from './sqlite-store.ts';
export type { SqliteStoreOptions } from './sqlite-store.ts';
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
} from './store-error.ts';
