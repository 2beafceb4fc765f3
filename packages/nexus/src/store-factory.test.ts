import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './config.ts';
import { poolShare, postgresPool } from './store-factory.ts';

describe('poolShare: SPIKE_NEXUS_DB_MAX_OPEN_CONNS is one budget for the whole process', () => {
  it('splits it over the threads, the remainder to the main thread, adding up exactly', () => {
    for (let budget = 1; budget <= 40; budget++) {
      for (let threads = 1; threads <= Math.min(budget, 16); threads++) {
        const main = poolShare(budget, threads, 'main');
        const api = poolShare(budget, threads, 'api');
        assert.ok(main >= 1 && api >= 1, `${String(budget)}/${String(threads)}`);
        assert.equal(main + api * (threads - 1), budget, `${String(budget)}/${String(threads)}`);
        assert.ok(main >= api);
      }
    }
    assert.equal(poolShare(10, 1, 'main'), 10);
    assert.deepEqual([poolShare(10, 2, 'main'), poolShare(10, 2, 'api')], [5, 5]);
    assert.deepEqual([poolShare(10, 3, 'main'), poolShare(10, 3, 'api')], [4, 3]);
    assert.deepEqual([poolShare(10, 8, 'main'), poolShare(10, 8, 'api')], [3, 1]);
  });

  it('sizes each thread pool from the configuration', () => {
    const config = loadConfig(
      {
        SPIKE_NEXUS_KEEPER_PEERS: 'https://k1:8443,https://k2:8443,https://k3:8443',
        SPIKE_NEXUS_BACKEND_STORE: 'postgres',
        SPIKE_NEXUS_POSTGRES_URL: 'postgresql://app@db.example/spike',
        SPIKE_NEXUS_API_THREADS: '4',
        SPIKE_NEXUS_DB_MAX_OPEN_CONNS: '10',
      },
      { homeDir: '/home/a', userName: 'a', cwd: '/' },
    );
    assert.equal(postgresPool(config, 'main').maxConnections, 4);
    assert.equal(postgresPool(config, 'api').maxConnections, 2);
  });
});
