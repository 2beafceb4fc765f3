import { after, before } from 'node:test';
import { openPostgresStore } from '@spike-ts/store';
import { runStoreContract } from '@spike-ts/store/contract';
import {
  preparedDatabase,
  socketConnection,
  startTestCluster,
  type TestCluster,
} from '@spike-ts/store/testing';

let cluster: TestCluster;
before(async () => {
  cluster = await startTestCluster();
});
after(() => cluster.stop());

// The runtime role with exactly the documented grants, on a schema it did not create and may not
// change: every store call the contract makes works with those grants.
runStoreContract('postgres (runtime role, schema checked, never migrated)', async () => {
  const database = await preparedDatabase(cluster);
  const store = await openPostgresStore({
    connection: socketConnection(cluster, cluster.runtimeRole, database),
    schema: 'check',
    pool: { maxConnections: 4 },
  });
  return { store, cleanup: () => store.close() };
});
