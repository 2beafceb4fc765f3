import { openPostgresStore } from '@spike-ts/store';
import { runStoreContract, type VersionRowTamper } from '@spike-ts/store/contract';
import { preparedDatabase, socketConnection } from '@spike-ts/store/testing';
import { clusterForFile } from './cluster-for-file.ts';

const cluster = clusterForFile();

/** The version rows of `database`, changed as its superuser (behind the store's back). */
function databaseTamper(database: string): VersionRowTamper {
  const id = (hex: string): Buffer => Buffer.from(hex, 'hex');
  const sql = <T extends Record<string, unknown>>(text: string, params: unknown[]) =>
    cluster.superuser<T>(text, params, database);
  return {
    versionRows: async () =>
      (
        await sql<{ path_id: Buffer; version: string }>(
          'SELECT path_id, version::text FROM spike.secret_versions',
          [],
        )
      ).rows.map((r) => ({ id: r.path_id.toString('hex'), version: Number(r.version) })),
    readVersion: async (hex, version) => {
      const r = await sql<{ envelope: Buffer }>(
        'SELECT envelope FROM spike.secret_versions WHERE path_id = $1 AND version = $2',
        [id(hex), version],
      );
      const row = r.rows[0];
      return row === undefined ? undefined : Uint8Array.from(row.envelope);
    },
    writeVersion: async (hex, version, envelope) => {
      await sql(
        'INSERT INTO spike.secret_versions (path_id, version, envelope) VALUES ($1, $2, $3) ' +
          'ON CONFLICT (path_id, version) DO UPDATE SET envelope = EXCLUDED.envelope',
        [id(hex), version, Buffer.from(envelope)],
      );
    },
    deleteVersion: async (hex, version) => {
      await sql('DELETE FROM spike.secret_versions WHERE path_id = $1 AND version = $2', [id(hex), version]);
    },
  };
}

// The runtime role with exactly the documented grants, on a schema it did not create and may not
// change: every store call the contract makes works with those grants.
runStoreContract('postgres (runtime role, schema checked, never migrated)', async () => {
  const database = await preparedDatabase(cluster);
  const store = await openPostgresStore({
    connection: socketConnection(cluster, cluster.runtimeRole, database),
    schema: 'check',
    pool: { maxConnections: 4 },
  });
  return { store, cleanup: () => store.close(), tamper: databaseTamper(database) };
});
