import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract, type VersionRowTamper } from './contract.ts';
import { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
import { rawDb } from './sqlite-test-kit.ts';

/** The version rows of the file, through a connection of its own (as someone with the file would). */
function fileTamper(dataDir: string): VersionRowTamper {
  const withDb = <T>(fn: (db: ReturnType<typeof rawDb>) => T): Promise<T> => {
    const db = rawDb(dataDir);
    try {
      return Promise.resolve(fn(db));
    } finally {
      db.close();
    }
  };
  const id = (hex: string): Uint8Array => Buffer.from(hex, 'hex');
  return {
    versionRows: () =>
      withDb((db) =>
        db
          .prepare('SELECT path_id, version FROM secret_versions')
          .all()
          .map((r) => ({
            id: Buffer.from(r['path_id'] as Uint8Array).toString('hex'),
            version: Number(r['version']),
          })),
      ),
    readVersion: (hex, version) =>
      withDb((db) => {
        const row = db
          .prepare('SELECT envelope FROM secret_versions WHERE path_id = ? AND version = ?')
          .get(id(hex), version);
        return row === undefined ? undefined : Uint8Array.from(row['envelope'] as Uint8Array);
      }),
    writeVersion: (hex, version, envelope) =>
      withDb((db) => {
        db.prepare(
          'INSERT INTO secret_versions (path_id, version, envelope) VALUES (?, ?, ?) ' +
            'ON CONFLICT (path_id, version) DO UPDATE SET envelope = excluded.envelope',
        ).run(id(hex), version, envelope);
      }),
    deleteVersion: (hex, version) =>
      withDb((db) => {
        db.prepare('DELETE FROM secret_versions WHERE path_id = ? AND version = ?').run(id(hex), version);
      }),
  };
}

function sqliteFactory(options: Omit<SqliteStoreOptions, 'dataDir'> = {}) {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spx-store-'));
    const dataDir = join(dir, 'data');
    const store = createSqliteStore({ dataDir, ...options });
    return {
      store,
      tamper: fileTamper(dataDir),
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

runStoreContract('sqlite', sqliteFactory());
// The read cache must not change what a reader sees: without it, and with a budget so small
// that every read evicts the entry before.
runStoreContract('sqlite without a read cache', sqliteFactory({ rowCacheBytes: 0 }));
runStoreContract('sqlite with a 1 KiB read cache', sqliteFactory({ rowCacheBytes: 1024 }));
