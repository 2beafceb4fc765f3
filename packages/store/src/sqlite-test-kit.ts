/** Helpers for the SQLite backend tests: private temp dirs and raw access to the database file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { TestContext } from 'node:test';
import { SQLITE_FILE_NAME } from './sqlite-open.ts';

/** A fresh `<tmp>/spx-store-XXXXXX/data` path (not yet created), removed after the test. */
export function tempDataDir(t: TestContext): string {
  const root = mkdtempSync(join(tmpdir(), 'spx-store-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return join(root, 'data');
}

/** Opens the store's file directly (as an attacker with file access would). Caller closes it. */
export function rawDb(dataDir: string): DatabaseSync {
  return new DatabaseSync(join(dataDir, SQLITE_FILE_NAME));
}

export function count(db: DatabaseSync, table: string): number {
  const row = db.prepare(`SELECT count(*) AS n FROM ${table}`).get();
  return Number(row?.['n']);
}
