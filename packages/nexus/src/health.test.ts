import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHealthServer } from './health.ts';

function call(
  port: number,
  method: string,
  path: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health server', async () => {
  let ready = false;
  let damaged = 0;
  const server = createHealthServer({
    isReady: () => ready,
    damagedRows: () => damaged,
    headersTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    keepAliveTimeoutMs: 1000,
    maxConnections: 16,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  after(() => server.close());

  it('GET /healthz is always ok', async () => {
    const r = await call(port, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['cache-control'], 'no-store, no-cache, must-revalidate, private');
  });

  it('GET /readyz follows the readiness flag', async () => {
    ready = false;
    let r = await call(port, 'GET', '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { ready: false });
    ready = true;
    r = await call(port, 'GET', '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { ready: true });
  });

  it('GET /readyz reports damaged rows as a count only, and stays ready', async () => {
    ready = true;
    damaged = 3;
    try {
      const r = await call(port, 'GET', '/readyz');
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { ready: true, damagedRows: 3 });
    } finally {
      damaged = 0;
    }
  });

  it('answers nothing else', async () => {
    for (const [method, path] of [
      ['POST', '/healthz'],
      ['GET', '/'],
      ['GET', '/v1/store/secrets'],
      ['GET', '/healthz/'],
      ['DELETE', '/readyz'],
      ['GET', '/metrics'],
    ] as const) {
      const r = await call(port, method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
    }
  });
});

describe('health server with metrics', async () => {
  let text = '# HELP spike_x x\n# TYPE spike_x counter\nspike_x 1\n';
  let failing = false;
  let scrapes = 0;
  const errors: unknown[] = [];
  const server = createHealthServer({
    isReady: () => true,
    headersTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    keepAliveTimeoutMs: 1000,
    maxConnections: 16,
    metrics: {
      scrape: () => {
        scrapes += 1;
        return failing ? Promise.reject(new Error('collection broke')) : Promise.resolve(text);
      },
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      onError: (err) => errors.push(err),
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  after(() => server.close());

  it('GET /metrics serves the scrape as Prometheus text, one request per connection, not cached', async () => {
    text = '# HELP spike_x x\n# TYPE spike_x counter\nspike_x 2\n';
    const r = await call(port, 'GET', '/metrics?ignored=1');
    assert.equal(r.status, 200);
    assert.equal(r.body, text);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(text)));
    assert.equal(r.headers.connection, 'close');
    assert.equal(r.headers['cache-control'], 'no-store, no-cache, must-revalidate, private');
  });

  it('a failed scrape is a 500 that says nothing of the cause, and is reported', async () => {
    failing = true;
    try {
      const r = await call(port, 'GET', '/metrics');
      assert.equal(r.status, 500);
      assert.deepEqual(JSON.parse(r.body), { err: 'metrics_unavailable' });
      assert.ok(!r.body.includes('collection broke'));
      assert.equal((errors.at(-1) as Error).message, 'collection broke');
    } finally {
      failing = false;
    }
  });

  it('answers only GET on exactly /metrics', async () => {
    const before = scrapes;
    for (const [method, path] of [
      ['POST', '/metrics'],
      ['PUT', '/metrics'],
      ['GET', '/metrics/'],
      ['GET', '/Metrics'],
    ] as const) {
      const r = await call(port, method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    assert.equal(scrapes, before, 'nothing else scrapes');
  });
});

describe('health server on a shared database', async () => {
  let ready = true;
  let database: () => Promise<boolean> = () => Promise.resolve(true);
  let asked = 0;
  const server = createHealthServer({
    isReady: () => ready,
    databaseReachable: () => {
      asked += 1;
      return database();
    },
    headersTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    keepAliveTimeoutMs: 1000,
    maxConnections: 16,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  after(() => server.close());

  it('GET /readyz is 200 only while the database answers', async () => {
    let r = await call(port, 'GET', '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { ready: true });
    database = () => Promise.resolve(false);
    r = await call(port, 'GET', '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { ready: false, database: 'unreachable' });
    database = () => Promise.reject(new Error('connection refused'));
    r = await call(port, 'GET', '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { ready: false, database: 'unreachable' });
  });

  it('a database that does not answer is unreachable after the timeout', async () => {
    database = () => new Promise<boolean>(() => undefined);
    const r = await call(port, 'GET', '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { ready: false, database: 'unreachable' });
  });

  it('without the root key the database is not asked', async () => {
    ready = false;
    const before = asked;
    const r = await call(port, 'GET', '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { ready: false });
    assert.equal(asked, before);
  });
});
