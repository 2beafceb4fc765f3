/**
 * The metrics building blocks: histogram cells, the caller-role label, request and storage
 * metrics, and the scraper (summing threads, sharing and spacing scrapes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putSecretVersion } from '@spike-ts/core';
import { DEFAULT_TRUST_ROOTS, trustRootsFromEnv } from '@spike-ts/identity';
import { createMemoryStore } from '@spike-ts/store';
import { NEXUS_ROUTE_SPECS, SECRET_GET, SECRET_PUT } from '@spike-ts/protocol';
import { CALLER_ROLES, createCallerRoleOf } from './caller-role.ts';
import { NEXUS_METRICS } from './catalog.ts';
import { CellHistogram, type MetricJson, type MetricJsonValue } from './cells.ts';
import { createRequestMetrics } from './request-metrics.ts';
import { createScraper } from './scrape.ts';
import { createStoreMetrics } from './store-metrics.ts';
import { createThreadMetrics, type ThreadMetrics } from './thread-metrics.ts';

const role = (i: number): string => CALLER_ROLES[i] as string;

/** The value of the sample `name{labels}` in Prometheus text (undefined: no such line). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = m[2] === undefined ? [] : m[2].split(',');
    if (want.length === have.length && want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

describe('histogram cells', () => {
  it('export cumulative buckets, +Inf, sum and count with the label set', () => {
    const h = new CellHistogram([0.001, 0.01, 1], { route: 'r' });
    for (const v of [0.0005, 0.001, 0.005, 0.5, 20]) h.observe(v);
    const out: MetricJsonValue[] = [];
    h.samples('x_seconds', out);
    assert.deepEqual(
      out.map((s) => [s.metricName, s.labels.le, s.value]),
      [
        ['x_seconds_bucket', 0.001, 2],
        ['x_seconds_bucket', 0.01, 3],
        ['x_seconds_bucket', 1, 4],
        ['x_seconds_bucket', '+Inf', 5],
        ['x_seconds_sum', undefined, 0.0005 + 0.001 + 0.005 + 0.5 + 20],
        ['x_seconds_count', undefined, 5],
      ],
    );
    assert.ok(out.every((s) => s.labels.route === 'r'));
  });
});

describe('caller role label', () => {
  const roleOf = createCallerRoleOf(DEFAULT_TRUST_ROOTS);
  it('is the SPIKE role of the SPIFFE ID, never the ID', () => {
    const cases: [string | undefined, string][] = [
      ['spiffe://spike.ist/spike/pilot/role/superuser', 'superuser'],
      ['spiffe://spike.ist/spike/pilot/role/recover', 'recover'],
      ['spiffe://spike.ist/spike/pilot/role/restore', 'restore'],
      ['spiffe://spike.ist/spike/workload/role/lite', 'lite_workload'],
      ['spiffe://spike.ist/spike/nexus/pod-1', 'nexus'],
      ['spiffe://spike.ist/spike/keeper/2', 'keeper'],
      ['spiffe://spike.ist/spike/bootstrap', 'bootstrap'],
      ['spiffe://spike.ist/workload/billing', 'workload'],
      ['spiffe://spike.ist/spike/nexus-evil', 'workload'],
      ['spiffe://other.example/spike/pilot/role/superuser', 'workload'],
      [undefined, 'none'],
    ];
    for (const [id, want] of cases) assert.equal(role(roleOf(id)), want, String(id));
  });

  it('labels people by their role only, whatever their principal looks like', () => {
    const of = createCallerRoleOf(DEFAULT_TRUST_ROOTS);
    assert.equal(role(of('user:alice', 'admin')), 'person_admin');
    assert.equal(role(of('user:carol', 'auditor')), 'person_auditor');
    assert.equal(role(of('user:dave', 'user')), 'person');
    // A person whose name reads like a SPIKE role's SPIFFE ID is still a person, cache or not.
    const superuser = 'spiffe://spike.ist/spike/pilot/role/superuser';
    assert.equal(role(of(superuser)), 'superuser');
    assert.equal(role(of(superuser, 'user')), 'person');
    assert.equal(role(of(undefined, 'admin')), 'none');
  });

  it('follows the configured trust roots', () => {
    const roots = trustRootsFromEnv({ SPIKE_TRUST_ROOT_PILOT: 'ops.example' });
    const of = createCallerRoleOf(roots);
    assert.equal(role(of('spiffe://ops.example/spike/pilot/role/superuser')), 'superuser');
    assert.equal(role(of('spiffe://spike.ist/spike/pilot/role/superuser')), 'workload');
  });

  it('stays right beyond its cache', () => {
    const of = createCallerRoleOf(DEFAULT_TRUST_ROOTS, 1);
    assert.equal(role(of('spiffe://spike.ist/workload/a')), 'workload');
    assert.equal(role(of('spiffe://spike.ist/spike/keeper')), 'keeper');
    assert.equal(role(of('spiffe://spike.ist/spike/keeper')), 'keeper');
    assert.equal(role(of('spiffe://spike.ist/workload/a')), 'workload');
  });
});

describe('request metrics', () => {
  const fresh = () => createRequestMetrics(NEXUS_ROUTE_SPECS, createCallerRoleOf(DEFAULT_TRUST_ROOTS));
  const family = (json: MetricJson[], name: string): MetricJson =>
    json.find((m) => m.name === name) as MetricJson;
  const superuser = 'spiffe://spike.ist/spike/pilot/role/superuser';

  it('count by route spec, action, status and role; time by route and action', () => {
    const m = fresh();
    const get = m.meter(SECRET_GET);
    get.finish(m.roleOf(superuser), 200, 'allowed', 0.002);
    get.finish(m.roleOf(superuser), 200, 'allowed', 0.003);
    get.finish(m.roleOf('spiffe://spike.ist/workload/x'), 401, 'denied', 0.001);
    m.meter(SECRET_PUT).finish(m.roleOf(superuser), 400, 'none', 0.001);
    const json = m.json();
    assert.deepEqual(
      family(json, 'spike_nexus_requests_total').values.map((v) => [v.labels, v.value]),
      [
        [{ route: '/v1/store/secrets', action: 'default', status: '400', role: 'superuser' }, 1],
        [{ route: '/v1/store/secrets', action: 'get', status: '200', role: 'superuser' }, 2],
        [{ route: '/v1/store/secrets', action: 'get', status: '401', role: 'workload' }, 1],
      ],
    );
    assert.deepEqual(
      family(json, 'spike_nexus_authorization_decisions_total').values.map((v) => [v.labels, v.value]),
      [
        [{ route: '/v1/store/secrets', action: 'get', decision: 'allowed', role: 'superuser' }, 2],
        [{ route: '/v1/store/secrets', action: 'get', decision: 'denied', role: 'workload' }, 1],
      ],
      'decisions made only (the 400 was rejected before authorization)',
    );
    const count = family(json, 'spike_nexus_request_duration_seconds').values.filter(
      (v) => v.metricName === 'spike_nexus_request_duration_seconds_count',
    );
    assert.deepEqual(
      count.map((v) => [v.labels, v.value]),
      [
        [{ route: '/v1/store/secrets', action: 'default' }, 1],
        [{ route: '/v1/store/secrets', action: 'get' }, 3],
      ],
    );
  });

  it('a target that names no route of the table is the route `unknown`, whatever it says', () => {
    const m = fresh();
    m.meter({ path: '/v1/store/secrets/tenants/acme', action: 'get' }).finish(0, 400, 'none', 0.001);
    m.meter({ path: '/v1/store/secrets', action: 'explode' }).finish(0, 400, 'none', 0.001);
    m.meter(undefined).finish(0, 400, 'none', undefined);
    const values = family(m.json(), 'spike_nexus_requests_total').values;
    assert.deepEqual(
      values.map((v) => [v.labels, v.value]),
      [[{ route: 'unknown', action: 'unknown', status: '400', role: 'superuser' }, 3]],
    );
    const count = family(m.json(), 'spike_nexus_request_duration_seconds').values.find(
      (v) => v.metricName === 'spike_nexus_request_duration_seconds_count',
    );
    assert.equal(count?.value, 2, 'a request that never reached the handler is counted, not timed');
  });

  it('routes the table lists that have no traffic export nothing', () => {
    const json = fresh().json();
    for (const f of json) assert.deepEqual(f.values, [], f.name);
  });
});

describe('storage metrics', () => {
  it('time every operation of the wrapped store, failures too, and pass results through', async () => {
    const metrics = createStoreMetrics();
    const store = metrics.instrument(createMemoryStore());
    assert.equal(store.kind, 'memory');
    assert.equal(store.persistent, false);
    await store.updateSecret('a', (current) => ({
      next: putSecretVersion(current, 'a', { k: 'v' }, 1, 10),
      result: undefined,
    }));
    const read = await store.getSecretVersion('a', 0);
    assert.deepEqual(read?.version?.data, { k: 'v' });
    await assert.rejects(
      store.updateSecret('a', () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    const json = metrics.json();
    const durations = json.find(
      (m) => m.name === 'spike_nexus_store_operation_duration_seconds',
    ) as MetricJson;
    const counts = Object.fromEntries(
      durations.values
        .filter((v) => v.metricName?.endsWith('_count') === true)
        .map((v) => [String(v.labels.operation), v.value] as const),
    );
    assert.deepEqual(counts, { getSecretVersion: 1, updateSecret: 2 });
  });

  it('count the observer calls: batch sizes, cache hits and misses (both always exported)', () => {
    const metrics = createStoreMetrics();
    metrics.observer.batchCommitted?.(3);
    metrics.observer.batchCommitted?.(1);
    metrics.observer.cacheRead?.(true);
    metrics.observer.cacheRead?.(true);
    metrics.observer.cacheRead?.(false);
    const json = metrics.json();
    const cache = json.find((m) => m.name === 'spike_nexus_store_read_cache_total') as MetricJson;
    assert.deepEqual(
      cache.values.map((v) => [v.labels.result, v.value]),
      [
        ['hit', 2],
        ['miss', 1],
      ],
    );
    const batch = json.find((m) => m.name === 'spike_nexus_store_commit_batch_size') as MetricJson;
    const v = (name: string, le?: number): number | undefined =>
      batch.values.find((s) => s.metricName === name && (le === undefined || s.labels.le === le))?.value;
    assert.equal(v('spike_nexus_store_commit_batch_size_count'), 2);
    assert.equal(v('spike_nexus_store_commit_batch_size_sum'), 4);
    assert.equal(v('spike_nexus_store_commit_batch_size_bucket', 1), 1);
    assert.equal(v('spike_nexus_store_commit_batch_size_bucket', 4), 2);
  });
});

describe('scraper', () => {
  const superuser = 'spiffe://spike.ist/spike/pilot/role/superuser';
  /** A thread that served `n` secret reads as the superuser. */
  const threadWith = (n: number): ThreadMetrics => {
    const t = createThreadMetrics(DEFAULT_TRUST_ROOTS);
    const meter = t.requests.meter(SECRET_GET);
    for (let i = 0; i < n; i++) meter.finish(t.requests.roleOf(superuser), 200, 'allowed', 0.0002);
    return t;
  };
  const reads = { route: '/v1/store/secrets', action: 'get', status: '200', role: 'superuser' };

  it('sums this thread and the other threads per label set, histograms bucket by bucket', async () => {
    const own = threadWith(2);
    const other = await threadWith(3).snapshot();
    const retired = await threadWith(4).snapshot();
    const scraper = createScraper({
      own,
      others: () => ({ collectMetrics: () => Promise.resolve({ snapshots: [other, retired], stale: 1 }) }),
      onStale: (n) => assert.equal(n, 1),
    });
    const text = await scraper.scrape();
    assert.equal(sample(text, 'spike_nexus_requests_total', reads), 9);
    const timing = { route: '/v1/store/secrets', action: 'get' };
    assert.equal(sample(text, 'spike_nexus_request_duration_seconds_count', timing), 9);
    assert.equal(
      sample(text, 'spike_nexus_request_duration_seconds_bucket', { ...timing, le: '0.00025' }),
      9,
    );
    assert.equal(sample(text, 'spike_nexus_request_duration_seconds_bucket', { ...timing, le: '0.0001' }), 0);
    assert.equal(scraper.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('scrapes at the same time share one collection; within the interval the last text is served', async () => {
    let t = 0;
    let collections = 0;
    const own = threadWith(1);
    const scraper = createScraper({
      own,
      others: () => ({
        collectMetrics: () => {
          collections += 1;
          return Promise.resolve({ snapshots: [], stale: 0 });
        },
      }),
      minIntervalMs: 1000,
      now: () => t,
    });
    const [a, b] = await Promise.all([scraper.scrape(), scraper.scrape()]);
    assert.equal(collections, 1);
    assert.equal(a, b);
    own.requests.meter(SECRET_GET).finish(0, 200, 'allowed', 0.001);
    t = 999;
    assert.equal(sample(await scraper.scrape(), 'spike_nexus_requests_total', reads), 1, 'the last text');
    assert.equal(collections, 1);
    t = 1000;
    assert.equal(sample(await scraper.scrape(), 'spike_nexus_requests_total', reads), 2, 'collected afresh');
    assert.equal(collections, 2);
    t = 10; // a clock that went back does not freeze the metrics
    await scraper.scrape();
    assert.equal(collections, 3);
  });

  it('a failed collection fails that scrape only; the next one collects again', async () => {
    let fail = true;
    const scraper = createScraper({
      own: threadWith(1),
      others: () => ({
        collectMetrics: () =>
          fail ? Promise.reject(new Error('thread gone')) : Promise.resolve({ snapshots: [], stale: 0 }),
      }),
      now: () => 0,
    });
    await assert.rejects(scraper.scrape(), /thread gone/);
    fail = false;
    assert.equal(sample(await scraper.scrape(), 'spike_nexus_requests_total', reads), 1);
  });

  it('whatever other parts of the thread register on its registry is scraped too', async () => {
    const own = threadWith(0);
    const { Counter } = await import('prom-client');
    const dropped = new Counter({
      name: 'spike_audit_test_dropped_total',
      help: 'test',
      registers: [own.registry],
    });
    dropped.inc(5);
    const text = await createScraper({ own }).scrape();
    assert.equal(sample(text, 'spike_audit_test_dropped_total'), 5);
  });
});

describe('metric catalog', () => {
  it('names are unique, prefixed, and counters end in _total', () => {
    assert.equal(new Set(NEXUS_METRICS.map((m) => m.name)).size, NEXUS_METRICS.length);
    for (const m of NEXUS_METRICS) {
      assert.match(m.name, /^spike_nexus_[a-z_]+$/);
      assert.equal(m.name.endsWith('_total'), m.type === 'counter', m.name);
      assert.equal(m.buckets !== undefined, m.type === 'histogram', m.name);
    }
  });
});
