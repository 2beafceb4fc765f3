/**
 * The SQLite backend's statements, prepared once at open and reused (node:sqlite finalizes them
 * when the database closes), and typed access to result columns.
 */
import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite';
import { StoreIntegrityError } from './store-error.ts';

export type Row = Record<string, SQLOutputValue>;
export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    getMeta: p('SELECT value FROM meta WHERE key = ?'),
    insertMeta: p('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)'),
    getHead: p('SELECT envelope FROM secrets WHERE path_id = ?'),
    allHeads: p('SELECT path_id, envelope FROM secrets'),
    upsertHead: p(
      'INSERT INTO secrets (path_id, envelope) VALUES (?, ?) ON CONFLICT (path_id) DO UPDATE SET envelope = excluded.envelope',
    ),
    // The head and every version of one secret in one statement (one snapshot).
    getSecretRows: p(
      'SELECT s.envelope AS head, v.version AS version, v.envelope AS envelope FROM secrets s ' +
        'LEFT JOIN secret_versions v ON v.path_id = s.path_id WHERE s.path_id = ? ORDER BY v.version',
    ),
    getVersion: p('SELECT envelope FROM secret_versions WHERE path_id = ? AND version = ?'),
    // The damaged-row scan of version rows: the next page of secrets after a place, with theirs.
    versionScanPage: p(
      'WITH h AS (SELECT path_id, envelope FROM secrets WHERE path_id > ? ORDER BY path_id LIMIT ?) ' +
        'SELECT h.path_id AS path_id, h.envelope AS head, v.version AS version, v.envelope AS envelope ' +
        'FROM h LEFT JOIN secret_versions v ON v.path_id = h.path_id ORDER BY h.path_id, v.version',
    ),
    // Changes when another connection commits to the file (not for this connection's commits).
    dataVersion: p('PRAGMA data_version'),
    anyVersion: p('SELECT 1 AS found FROM secret_versions WHERE path_id = ? LIMIT 1'),
    // Places holding version rows but no secrets row (the secrets row was deleted behind our back).
    orphanVersionIds: p(
      'SELECT DISTINCT path_id FROM secret_versions WHERE path_id NOT IN (SELECT path_id FROM secrets)',
    ),
    deleteHead: p('DELETE FROM secrets WHERE path_id = ?'),
    deleteAllVersions: p('DELETE FROM secret_versions WHERE path_id = ?'),
    upsertVersion: p(
      'INSERT INTO secret_versions (path_id, version, envelope) VALUES (?, ?, ?) ON CONFLICT (path_id, version) DO UPDATE SET envelope = excluded.envelope',
    ),
    deleteVersion: p('DELETE FROM secret_versions WHERE path_id = ? AND version = ?'),
    getPolicy: p('SELECT envelope FROM policies WHERE name_id = ?'),
    allPolicies: p('SELECT name_id, envelope FROM policies'),
    upsertPolicy: p(
      'INSERT INTO policies (name_id, envelope) VALUES (?, ?) ON CONFLICT (name_id) DO UPDATE SET envelope = excluded.envelope',
    ),
    deletePolicy: p('DELETE FROM policies WHERE name_id = ?'),
  };
}

export function blob(row: Row, column: string, where: string): Uint8Array {
  const v = row[column];
  if (!(v instanceof Uint8Array)) throw new StoreIntegrityError(`${where}: column ${column} is not a blob`);
  return v;
}

export function integer(row: Row, column: string, where: string): number {
  const v = row[column];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new StoreIntegrityError(`${where}: column ${column} is not an integer`);
  }
  return v;
}
