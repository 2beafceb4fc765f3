/**
 * One private PostgreSQL cluster for the test file that calls `clusterForFile()` at its top level:
 * started before the file's tests, stopped after them. The value returned stands for the cluster
 * (its properties and methods reach the started one); using it before the start is an error.
 */
import { after, before } from 'node:test';
import { startTestCluster, type TestCluster } from '@spike-ts/store/testing';

export function clusterForFile(): TestCluster {
  let started: TestCluster | undefined;
  before(async () => {
    started = await startTestCluster();
  });
  after(() => started?.stop());
  return new Proxy({} as TestCluster, {
    get(_target, prop) {
      if (started === undefined) throw new Error('the test cluster is started in before(): use it in a test');
      const value: unknown = Reflect.get(started, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(started) : value;
    },
  });
}
