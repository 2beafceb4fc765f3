/**
 * Versioned schema of the SQLite backend. The schema version lives in `PRAGMA user_version`
 * (part of the database header, so it changes atomically with the DDL). Migrations are applied
 * in order, all pending ones in one `BEGIN IMMEDIATE` transaction at open: either the database
 * ends up at the newest version or it is left untouched. A database whose version is newer than
 * this build knows is refused rather than guessed at.
 *
 * Rules for adding a migration: append, never edit a released one; versions are 1, 2, 3, ...
 */
import type { DatabaseSync } from 'node:sqlite';
import { StoreSchemaError } from './store-error.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema: encrypted secrets, versions, policies, key-check value',
    statements: [
      // path_id = HMAC-SHA256(index key, path); envelope = sealed { path, metadata, kept versions }.
      'CREATE TABLE secrets (path_id BLOB PRIMARY KEY NOT NULL, envelope BLOB NOT NULL) WITHOUT ROWID',
      // envelope = sealed { data, createdTime, deletedTime } of one version.
      `CREATE TABLE secret_versions (
         path_id BLOB NOT NULL,
         version INTEGER NOT NULL CHECK (version > 0),
         envelope BLOB NOT NULL,
         PRIMARY KEY (path_id, version)
       ) WITHOUT ROWID`,
      // name_id = HMAC-SHA256(index key, name); envelope = sealed policy record.
      'CREATE TABLE policies (name_id BLOB PRIMARY KEY NOT NULL, envelope BLOB NOT NULL) WITHOUT ROWID',
      // Non-secret bookkeeping, e.g. the root key's key-check value.
      'CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID',
    ],
  },
  {
    version: 2,
    name: 'root-key generations for online rotation',
    statements: [
      // One row per root key after the first (key-generations.ts, ADR 0044): its key-check value,
      // its state, and while rotating both root keys sealed under each other.
      `CREATE TABLE root_keys (
         generation INTEGER PRIMARY KEY NOT NULL CHECK (generation >= 2),
         key_check BLOB NOT NULL,
         state TEXT NOT NULL CHECK (state IN ('rotating', 'current', 'retired')),
         started_at INTEGER NOT NULL,
         finished_at INTEGER,
         carry BLOB,
         up BLOB,
         down BLOB
       )`,
    ],
  },
]);

export function latestSchemaVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

export function readSchemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version?: unknown } | undefined;
  const v = row?.user_version;
  if (typeof v !== 'number') throw new StoreSchemaError('cannot read the database schema version');
  return v;
}

/**
 * Brings `db` to the newest schema version. Returns the versions applied (empty when current).
 * Throws `StoreSchemaError` when the database is newer than `migrations` or a migration fails
 * (then nothing is applied).
 */
export function applyMigrations(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkMigrationList(migrations);
  const latest = latestSchemaVersion(migrations);
  db.exec('BEGIN IMMEDIATE');
  try {
    // Read inside the write transaction: another process may have migrated meanwhile.
    const current = readSchemaVersion(db);
    if (current > latest) {
      throw new StoreSchemaError(
        `database schema version ${current} is newer than this build supports (${latest}); ` +
          'upgrade the software or restore a matching backup',
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      try {
        for (const sql of m.statements) db.exec(sql);
      } catch (err) {
        throw new StoreSchemaError(`schema migration ${m.version} (${m.name}) failed`, { cause: err });
      }
      applied.push(m.version);
    }
    // PRAGMA does not take parameters; the value is an integer we control.
    if (applied.length > 0) db.exec(`PRAGMA user_version = ${latest}`);
    db.exec('COMMIT');
    return applied;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new StoreSchemaError('migrations must be numbered 1, 2, 3, ... without gaps');
  });
}
