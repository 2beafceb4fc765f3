/**
 * The keeper routes over plain HTTP with an injected peer ID (the mTLS layer is covered in
 * keeper-server.test.ts): wire format, authorization per route, bad input, method and path rules.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@spike-ts/core';
import { createKeeperHandler } from './keeper-handler.ts';
import { createShardHolder } from './shard-holder.ts';

const NEXUS = 'spiffe://spike.ist/spike/nexus';
const BOOTSTRAP = 'spiffe://spike.ist/spike/bootstrap';
const SUPERUSER = 'spiffe://spike.ist/spike/pilot/role/superuser';
const WORKLOAD = 'spiffe://spike.ist/workload/demo';
const within = (base: string) => (id: string) => id === base || id.startsWith(base + '/');

const holder = createShardHolder();
let server: Server;
let port = 0;

before(async () => {
  const handler = createKeeperHandler({
    holder,
    roles: { isNexus: within(NEXUS), isBootstrap: within(BOOTSTRAP) },
    peerId: (req) => {
      const h = req.headers['x-test-peer'];
      return typeof h === 'string' ? h : undefined;
    },
    logger: silentLogger,
  });
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Res {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function call(path: string, body: string | Buffer, peer?: string, method = 'POST'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        headers: {
          'content-length': String(Buffer.byteLength(body)),
          ...(peer === undefined ? {} : { 'x-test-peer': peer }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const shard = (seed: number): number[] => Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) % 256);
const contribute = (s: unknown, peer = NEXUS): Promise<Res> =>
  call('/v1/store/contribute', JSON.stringify({ shard: s }), peer);
const readShard = (peer = NEXUS): Promise<Res> => call('/v1/store/shard', '{}', peer);

describe('keeper routes', () => {
  it('an empty keeper answers the shard route with 400 and the exact SPIKE body', async () => {
    holder.clear();
    const res = await readShard();
    assert.equal(res.status, 400);
    assert.equal(res.body, '{"shard":null,"Err":"api_bad_request"}');
  });

  it('contribute then shard round-trips the share with SPIKE headers and body shape', async () => {
    const res = await contribute(shard(1));
    assert.equal(res.status, 200);
    assert.equal(res.body, '{}');
    const got = await readShard();
    assert.equal(got.status, 200);
    assert.equal(got.body, JSON.stringify({ shard: shard(1), Err: '' }));
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['cache-control'], 'no-store, no-cache, must-revalidate, private');
    assert.equal(got.headers.pragma, 'no-cache');
    assert.equal(got.headers.expires, '0');
  });

  it('bootstrap may contribute, and the last writer wins', async () => {
    assert.equal((await contribute(shard(2), BOOTSTRAP)).status, 200);
    assert.equal((await readShard()).body, JSON.stringify({ shard: shard(2), Err: '' }));
    assert.equal((await contribute(shard(3), `${NEXUS}/pod-a`)).status, 200);
    assert.equal((await readShard(`${NEXUS}/pod-b`)).body, JSON.stringify({ shard: shard(3), Err: '' }));
  });

  it('role matrix: only Nexus reads shards; Nexus and Bootstrap contribute', async () => {
    await contribute(shard(4));
    const matrix: [string, number, number][] = [
      // peer, contribute status, shard status
      [NEXUS, 200, 200],
      [BOOTSTRAP, 200, 401],
      [SUPERUSER, 401, 401],
      [WORKLOAD, 401, 401],
      ['spiffe://other.td/spike/nexus', 401, 401],
      [`${NEXUS}-evil`, 401, 401],
    ];
    for (const [peer, contributeStatus, shardStatus] of matrix) {
      const c = await contribute(shard(4), peer);
      assert.equal(c.status, contributeStatus, `contribute as ${peer}`);
      if (contributeStatus === 401) assert.equal(c.body, '{"err":"access_unauthorized"}');
      const s = await readShard(peer);
      assert.equal(s.status, shardStatus, `shard as ${peer}`);
      if (shardStatus === 401) assert.equal(s.body, '{"shard":null,"Err":"access_unauthorized"}');
    }
  });

  it('refuses a caller without a verified SPIFFE ID', async () => {
    const c = await call('/v1/store/contribute', JSON.stringify({ shard: shard(5) }));
    assert.equal(c.status, 401);
    assert.equal(c.body, '{"err":"access_unauthorized"}');
    const s = await call('/v1/store/shard', '{}');
    assert.equal(s.status, 401);
    assert.equal(s.body, '{"shard":null,"Err":"access_unauthorized"}');
  });

  it('rejects zero, missing and malformed shards with 400, keeping the held share', async () => {
    await contribute(shard(6));
    const bad: [string, string][] = [
      ['all zero', JSON.stringify({ shard: new Array(32).fill(0) })],
      ['missing', '{}'],
      ['null', '{"shard":null}'],
      ['31 entries', JSON.stringify({ shard: shard(1).slice(0, 31) })],
      ['33 entries', JSON.stringify({ shard: [...shard(1), 1] })],
      ['256', JSON.stringify({ shard: [256, ...shard(1).slice(1)] })],
      ['negative', JSON.stringify({ shard: [-1, ...shard(1).slice(1)] })],
      ['fraction', JSON.stringify({ shard: [1.5, ...shard(1).slice(1)] })],
      ['string entry', JSON.stringify({ shard: ['1', ...shard(1).slice(1)] })],
      ['base64 string', JSON.stringify({ shard: Buffer.from(shard(1)).toString('base64') })],
      ['not JSON', '{"shard":[1,2'],
      ['array body', '[1,2,3]'],
      ['empty body', ''],
    ];
    for (const [what, body] of bad) {
      const res = await call('/v1/store/contribute', body, NEXUS);
      assert.equal(res.status, 400, what);
      assert.equal(res.body, '{"err":"api_bad_request"}', what);
    }
    assert.equal((await readShard()).body, JSON.stringify({ shard: shard(6), Err: '' }));
    // A `__proto__` field is an unknown field like any other: ignored, as Go ignores it.
    const res = await call(
      '/v1/store/contribute',
      '{"__proto__":{"x":1},"shard":' + JSON.stringify(shard(6)) + '}',
      NEXUS,
    );
    assert.equal(res.status, 200);
    assert.equal((await readShard()).body, JSON.stringify({ shard: shard(6), Err: '' }));
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });

  it('rejects an oversized body with 413', async () => {
    const res = await call('/v1/store/contribute', Buffer.alloc(5000, 0x20), NEXUS);
    assert.equal(res.status, 413);
    assert.equal(res.body, '{"err":"api_body_too_large"}');
  });

  it('rejects a malformed shard-route body with 400', async () => {
    for (const body of ['', 'nope', '[]', 'null']) {
      const res = await call('/v1/store/shard', body, NEXUS);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body, '{"shard":null,"Err":"api_bad_request"}');
    }
  });

  it('answers every other method, path or action with 400 api_bad_request', async () => {
    await contribute(shard(7));
    const cases: [string, string][] = [
      ['GET', '/v1/store/shard'],
      ['PUT', '/v1/store/contribute'],
      ['DELETE', '/v1/store/shard'],
      ['POST', '/v1/store/shard/'],
      ['POST', '/v1/store/secrets'],
      ['POST', '/'],
      ['POST', '/v1/store/shard?action=get'],
      ['POST', '/v1/store/contribute?action=list'],
    ];
    for (const [method, path] of cases) {
      const res = await call(path, '{}', NEXUS, method);
      assert.equal(res.status, 400, `${method} ${path}`);
      assert.equal(res.body, '{"err":"api_bad_request"}', `${method} ${path}`);
    }
  });

  it('the status probe tells Nexus and Bootstrap whether a share is held, never the share', async () => {
    await contribute(shard(8));
    const held = await call('/v1/keeper/status', '{}', BOOTSTRAP);
    assert.equal(held.status, 200);
    assert.equal(held.body, '{"hasShard":true}');
    holder.clear();
    assert.equal((await call('/v1/keeper/status', '{}', NEXUS)).body, '{"hasShard":false}');
    assert.equal((await call('/v1/keeper/status', '{}', WORKLOAD)).status, 401);
  });
});
