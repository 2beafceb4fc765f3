/**
 * Helpers for the PostgreSQL backend tests: a database prepared as an operator would (migrated
 * by the DDL role, the runtime role granted exactly `runtimeGrants`), connection settings for
 * either role, and raw access to the rows (as an attacker with database access would have).
 */
import pg from 'pg';
import { readPasswordFile, type PostgresConnection } from './postgres-connection.ts';
import { migratePostgres, runtimeGrants } from './postgres-schema.ts';
import type { TestCluster, TestRole } from './postgres-test-cluster.ts';

/** Connection settings for `role` on `database` over the cluster's unix socket. */
export function socketConnection(cluster: TestCluster, role: TestRole, database: string): PostgresConnection {
  return {
    host: cluster.socketDir,
    port: cluster.port,
    database,
    user: role.name,
    passwordFile: role.passwordFile,
    sslMode: 'verify-full',
  };
}

/** A new database, migrated by the DDL role, with the runtime grants given to the runtime role. */
export async function preparedDatabase(cluster: TestCluster): Promise<string> {
  const database = await cluster.createDatabase();
  await asDdlRole(cluster, database, async (client) => {
    await migratePostgres(client);
    for (const sql of runtimeGrants(cluster.runtimeRole.name)) await client.query(sql);
  });
  return database;
}

/** Runs `fn` with a client connected as the DDL role. */
export async function asDdlRole<T>(
  cluster: TestCluster,
  database: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    host: cluster.socketDir,
    port: cluster.port,
    database,
    user: cluster.ddlRole.name,
    password: await readPasswordFile(cluster.ddlRole.passwordFile),
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
