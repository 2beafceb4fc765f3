import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from './contract.ts';
import { createSqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';

function sqliteFactory(options: Omit<SqliteStoreOptions, 'dataDir'> = {}) {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spx-store-'));
    const store = createSqliteStore({ dataDir: join(dir, 'data'), ...options });
    return {
      store,
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
