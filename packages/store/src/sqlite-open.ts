/**
 * Opens the SQLite file of the store: private data directory (0700) and file (0600), the
 * pragmas that make an acknowledged write a durable one, and the schema migrations.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Logger } from '@spike-ts/core';
import { applyMigrations, MIGRATIONS, readSchemaVersion } from './sqlite-schema.ts';
import type { Migration } from './sqlite-schema.ts';
import { StoreSchemaError } from './store-error.ts';

export const SQLITE_FILE_NAME = 'spike.db';
/** Page size of newly created database files. */
export const PAGE_SIZE = 8192;

/** Journal modes that keep committed transactions durable (MEMORY and OFF do not). */
export const JOURNAL_MODES = ['WAL', 'DELETE', 'TRUNCATE', 'PERSIST'] as const;
export type JournalMode = (typeof JOURNAL_MODES)[number];

export interface OpenOptions {
  dataDir: string;
  journalMode: JournalMode;
  /** SQLite page cache limit in KiB (default 65536: 64 MiB). */
  pageCacheKiB?: number;
  busyTimeoutMs: number;
  logger: Logger;
  migrations?: readonly Migration[];
}

export interface OpenedDatabase {
  db: DatabaseSync;
  file: string;
  schemaVersion: number;
}

/** The page cache of a connection that writes: 64 MiB. */
export const DEFAULT_PAGE_CACHE_KIB = 65_536;

export function openSqliteDatabase(opts: OpenOptions): OpenedDatabase {
  if (!(JOURNAL_MODES as readonly string[]).includes(opts.journalMode)) {
    throw new RangeError(`journalMode must be one of ${JOURNAL_MODES.join(', ')}`);
  }
  if (!Number.isSafeInteger(opts.busyTimeoutMs) || opts.busyTimeoutMs < 0 || opts.busyTimeoutMs > 600_000) {
    throw new RangeError('busyTimeoutMs must be an integer in 0..600000');
  }
  prepareDirectory(opts.dataDir, opts.logger);
  const file = join(opts.dataDir, SQLITE_FILE_NAME);
  // Create the file ourselves so it is private from the first byte; SQLite gives the -wal and
  // -shm files the database file's permissions.
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);

  const db = new DatabaseSync(file, { timeout: opts.busyTimeoutMs });
  try {
    db.enableDefensive(true);
    db.exec(`PRAGMA busy_timeout = ${opts.busyTimeoutMs}`);
    // New files only (an existing file keeps its page size): with 8 KiB pages a version row of a
    // 1 KiB secret (envelope about 1.1 KiB) fits in its b-tree page; with 4 KiB pages every such
    // row spilled into its own overflow page, tripling the file and the pages read per lookup.
    db.exec(`PRAGMA page_size = ${String(PAGE_SIZE)}`);
    const mode = pragmaText(db, `PRAGMA journal_mode = ${opts.journalMode}`);
    if (mode.toUpperCase() !== opts.journalMode) {
      throw new StoreSchemaError(`cannot set journal_mode=${opts.journalMode} (got ${mode})`);
    }
    // FULL: with WAL every COMMIT syncs the log, so an acknowledged write survives power loss.
    db.exec('PRAGMA synchronous = FULL');
    // Deleted rows (pruned versions, replaced envelopes) are overwritten, not left in free pages.
    db.exec('PRAGMA secure_delete = ON');
    db.exec('PRAGMA trusted_schema = OFF');
    // Page cache of up to 64 MiB (SQLite's default is 2 MiB): with 10,000 secrets of 1 KiB the
    // default cache missed on most reads, each miss a read of the file.
    const pageCacheKiB = opts.pageCacheKiB ?? DEFAULT_PAGE_CACHE_KIB;
    if (!Number.isSafeInteger(pageCacheKiB) || pageCacheKiB < 64 || pageCacheKiB > 1_048_576) {
      throw new RangeError('pageCacheKiB must be an integer in 64..1048576');
    }
    db.exec(`PRAGMA cache_size = -${String(pageCacheKiB)}`);
    const applied = applyMigrations(db, opts.migrations ?? MIGRATIONS);
    const schemaVersion = readSchemaVersion(db);
    opts.logger.info('sqlite store opened', {
      file,
      journalMode: opts.journalMode,
      schemaVersion,
      migrationsApplied: applied,
    });
    return { db, file, schemaVersion };
  } catch (err) {
    db.close();
    throw err;
  }
}

function prepareDirectory(dataDir: string, logger: Logger): void {
  if (typeof dataDir !== 'string' || dataDir.length === 0)
    throw new TypeError('dataDir must be a non-empty path');
  const created = mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (created !== undefined) {
    chmodSync(dataDir, 0o700);
    return;
  }
  const st = statSync(dataDir);
  if (!st.isDirectory()) throw new Error('dataDir exists and is not a directory');
  if ((st.mode & 0o077) !== 0) {
    logger.warn('data directory is accessible to other users; restrict it to the owner (chmod 700)', {
      dataDir,
      mode: (st.mode & 0o777).toString(8),
    });
  }
}

function pragmaText(db: DatabaseSync, sql: string): string {
  const row = db.prepare(sql).get();
  const value = row === undefined ? undefined : Object.values(row)[0];
  return typeof value === 'string' ? value : '';
}
