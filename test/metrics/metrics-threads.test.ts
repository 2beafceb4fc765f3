/**
 * `/metrics` of the real `spike-nexus` process with two API threads (`SPIKE_NEXUS_API_THREADS=2`),
 * real keepers and real mTLS: the reads the API thread answers itself are in the scrape exactly
 * once (summed over the threads, never counted again when bridged), the storage, keeper and
 * thread gauges are there, and Prometheus's checker accepts the text. Also: an unreadable
 * `SPIKE_NEXUS_METRICS` stops the real binary at start, naming the variable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MtlsClient } from '@spike-ts/identity';
import { Drill, waitFor } from '../drills/drill-kit.ts';
import { launch, NEXUS_BIN } from '../nexus/processes.ts';
import { promtool } from './promtool.ts';
import { sample, scrape, total } from './scrape-kit.ts';

/** Reads, each on a new connection: the kernel spreads them over both threads. */
const READS = 40;

describe('spike-nexus /metrics with API threads (real processes, real mTLS)', () => {
  let drill: Drill;
  let healthPort: number;

  before(async () => {
    drill = await Drill.start({ nexusEnv: { SPIKE_NEXUS_API_THREADS: '2' } });
    healthPort = drill.stack.opts.healthPort;
    await drill.logMatching('nexus', 0, 'root key installed in API thread');
  });
  after(async () => {
    await drill.close();
  });

  const post = async (client: MtlsClient, path: string, body: unknown): Promise<number> => {
    const res = await client.request(`${drill.stack.nexusUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return res.status;
  };

  it('counts every read once, summed over the threads, with storage, keeper and thread metrics', async () => {
    const pilot = await drill.mtlsAs('pilot', 'nexus');
    const demo = await drill.mtlsAs('demo', 'nexus');
    assert.equal(await post(pilot, '/v1/store/secrets', { path: 'metrics/app', values: { v: '1' } }), 200);
    const policy = {
      name: 'metrics-demo',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
      pathPattern: '^metrics/.*$',
      permissions: ['read'],
    };
    assert.equal(await post(pilot, '/v1/acl/policy', policy), 200);
    for (let i = 0; i < READS; i++) {
      assert.equal(await post(demo, '/v1/store/secrets?action=get', { path: 'metrics/app' }), 200);
    }

    // The first scrape of this process: nothing cached.
    const r = await scrape(healthPort);
    assert.equal(r.status, 200);
    const reads = { route: '/v1/store/secrets', action: 'get', status: '200', role: 'workload' };
    assert.equal(sample(r.text, 'spike_nexus_requests_total', reads), READS);
    assert.equal(
      sample(r.text, 'spike_nexus_authorization_decisions_total', {
        route: '/v1/store/secrets',
        action: 'get',
        decision: 'allowed',
        role: 'workload',
      }),
      READS,
    );
    assert.equal(
      sample(r.text, 'spike_nexus_request_duration_seconds_count', {
        route: '/v1/store/secrets',
        action: 'get',
      }),
      READS,
    );
    assert.equal(
      sample(r.text, 'spike_nexus_requests_total', {
        route: '/v1/acl/policy',
        action: 'default',
        status: '200',
        role: 'superuser',
      }),
      1,
    );
    assert.equal(sample(r.text, 'spike_nexus_api_threads'), 2);
    assert.equal(sample(r.text, 'spike_nexus_api_thread_restarts_total'), 0);
    assert.equal(sample(r.text, 'spike_nexus_metrics_stale_threads'), 0);
    assert.equal(sample(r.text, 'spike_nexus_ready'), 1);
    assert.equal(sample(r.text, 'spike_nexus_root_key_installed'), 1);
    // Every read went through some thread's store and read cache.
    assert.equal(
      total(r.text, 'spike_nexus_store_operation_duration_seconds_count', { operation: 'getSecretVersion' }),
      READS,
    );
    const hits = sample(r.text, 'spike_nexus_store_read_cache_total', { result: 'hit' }) ?? 0;
    const misses = sample(r.text, 'spike_nexus_store_read_cache_total', { result: 'miss' }) ?? 0;
    assert.equal(hits + misses, READS);
    assert.ok(hits > 0, 'repeated reads of one secret hit the cache');
    assert.ok(
      (sample(r.text, 'spike_nexus_store_commit_batch_size_count') ?? 0) >= 2,
      'the put and the policy',
    );
    // prom-client's process metrics (spike-nexus turns them on).
    assert.ok((sample(r.text, 'process_resident_memory_bytes') ?? 0) > 0);
  });

  it('shows each keeper holding its share', async () => {
    await waitFor('every keeper ok in /metrics', 20_000, async () => {
      const text = (await scrape(healthPort)).text;
      return [1, 2, 3].every(
        (k) => sample(text, 'spike_nexus_keeper_state', { keeper: String(k), state: 'ok' }) === 1,
      );
    });
    const text = (await scrape(healthPort)).text;
    assert.equal(sample(text, 'spike_nexus_keeper_state', { keeper: '2', state: 'unreachable' }), 0);
  });

  it('the scrape passes `promtool check metrics`', async () => {
    const r = await scrape(healthPort);
    const checked = await promtool(['check', 'metrics'], r.text);
    assert.equal(checked.code, 0, `promtool: ${checked.stdout}${checked.stderr}`);
  });

  it('shows a killed keeper as unreachable (the alert rules fire on this)', async () => {
    await drill.stack.killKeeper(2);
    await waitFor('keeper 3 unreachable in /metrics', 30_000, async () => {
      const text = (await scrape(healthPort)).text;
      return sample(text, 'spike_nexus_keeper_state', { keeper: '3', state: 'unreachable' }) === 1;
    });
    const text = (await scrape(healthPort)).text;
    assert.equal(sample(text, 'spike_nexus_keeper_state', { keeper: '3', state: 'ok' }), 0);
    assert.equal(sample(text, 'spike_nexus_keeper_state', { keeper: '1', state: 'ok' }), 1);
    assert.equal(sample(text, 'spike_nexus_ready'), 1, 'Nexus keeps serving with the key it holds');
  });
});

describe('spike-nexus with an unreadable metrics setting', () => {
  it('does not start, and names the variable and its rule', async () => {
    const child = launch(NEXUS_BIN, {
      SPIKE_NEXUS_BACKEND_STORE: 'memory',
      SPIKE_NEXUS_METRICS: 'enabled',
      SPIFFE_ENDPOINT_SOCKET: 'unix:///nonexistent/agent.sock',
    });
    assert.equal(await child.exited, 2);
    assert.match(child.output(), /invalid configuration: SPIKE_NEXUS_METRICS: must be one of on, off/);
    assert.ok(!child.output().includes('enabled'), 'the value is not echoed');
  });

  it('refuses metrics turned on with the health listener off, naming both', async () => {
    const child = launch(NEXUS_BIN, {
      SPIKE_NEXUS_BACKEND_STORE: 'memory',
      SPIKE_NEXUS_METRICS: 'on',
      SPIKE_NEXUS_HEALTH_ADDR: 'off',
      SPIFFE_ENDPOINT_SOCKET: 'unix:///nonexistent/agent.sock',
    });
    assert.equal(await child.exited, 2);
    assert.match(child.output(), /SPIKE_NEXUS_METRICS: must not be on while SPIKE_NEXUS_HEALTH_ADDR is off/);
  });
});
