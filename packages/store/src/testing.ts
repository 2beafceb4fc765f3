/**
 * Test helpers for suites outside this package (`@spike-ts/store/testing`, test code only):
 * record fixtures and raw access to a SQLite data directory.
 */
export { putVersion, softDelete, samplePolicy } from './contract-fixture.ts';
export { tempDataDir, rawDb, count } from './sqlite-test-kit.ts';
export { startTestCluster, findPostgresBinDir } from './postgres-test-cluster.ts';
export type { TestCluster, TestClusterOptions, TestRole, TlsFiles } from './postgres-test-cluster.ts';
export { socketConnection, preparedDatabase, asDdlRole } from './postgres-test-kit.ts';
export { READ_BATCH_SQL } from './postgres-read-cache.ts';
