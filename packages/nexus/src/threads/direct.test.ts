import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { readBody } from '@spike-ts/http';
import { createDirectClient, serveDirect } from './direct.ts';

const PEER_HEADER = 'x-test-peer';
const LIMIT = 1024;

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly trusted: boolean;
}

/**
 * The worker side (an HTTP server that forwards directly, or answers "bridge" itself when the
 * direct path declines) and the main side (`serveDirect` around a handler that records what it
 * saw and answers as the test asks), joined by a real MessageChannel.
 */
describe('direct forwarding between an API thread and the main thread', () => {
  const seen: Seen[] = [];
  /** Bodies the worker read itself and handed over with `forwardRead`. */
  const handedOver: Buffer[] = [];
  const socketMark = {};
  const { port1, port2 } = new MessageChannel();
  let url = '';
  let server: http.Server;
  const client = createDirectClient(port2, LIMIT, PEER_HEADER);

  before(async () => {
    serveDirect(
      port1,
      (req, res) => {
        void readBody(req, LIMIT).then((body) => {
          seen.push({
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: body.toString('utf8'),
            trusted: req.socket === socketMark,
          });
          const mode = req.headers['x-mode'];
          if (mode === 'destroy') {
            res.destroy();
            return;
          }
          res.setHeader('Retry-After', '1');
          const payload = Buffer.from(JSON.stringify({ echo: body.toString('utf8') }));
          res.writeHead(mode === 'close' ? 503 : 200, {
            'Content-Type': 'application/json',
            'Content-Length': payload.length,
            ...(mode === 'close' ? { Connection: 'close' } : {}),
          });
          res.end(payload);
        });
      },
      socketMark,
      PEER_HEADER,
    );
    server = http.createServer((req, res) => {
      if (req.headers['x-read-first'] !== undefined) {
        // The worker looked into the body before choosing where the request is answered.
        void readBody(req, LIMIT).then((body) => {
          client.forwardRead(req, res, 'spiffe://td/caller', body);
          handedOver.push(body);
        });
        return;
      }
      if (!client.forward(req, res, 'spiffe://td/caller')) {
        req.resume();
        res.writeHead(299, { 'Content-Length': 6 });
        res.end('bridge');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  after(async () => {
    client.close();
    port1.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const send = (
    body: string | undefined,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        `${url}/v1/store/secrets?action=get`,
        { method: 'POST', headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('hands method, target, end-to-end headers, the verified caller and the body over, and the answer back', async () => {
    seen.length = 0;
    const res = await send('{"path":"a"}', { 'Content-Type': 'application/json', 'X-Extra': 'yes' });
    assert.equal(res.status, 200);
    assert.equal(res.text, JSON.stringify({ echo: '{"path":"a"}' }));
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['retry-after'], '1', 'headers set before writeHead travel too');
    const [got] = seen;
    assert.ok(got !== undefined);
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/v1/store/secrets?action=get');
    assert.equal(got.body, '{"path":"a"}');
    assert.equal(got.headers['x-extra'], 'yes');
    assert.equal(got.headers[PEER_HEADER], 'spiffe://td/caller');
    assert.equal(got.headers.connection, undefined, 'hop-by-hop headers stay behind');
    assert.ok(got.trusted, 'the request comes on the marked socket');
  });

  it('hands over a request whose body the worker already read, the body intact, and zeroes its copy', async () => {
    seen.length = 0;
    const res = await send('{"path":"cloud/master"}', { 'X-Read-First': '1', 'X-Extra': 'yes' });
    assert.equal(res.status, 200);
    assert.equal(res.text, JSON.stringify({ echo: '{"path":"cloud/master"}' }));
    assert.equal(seen[0]?.body, '{"path":"cloud/master"}');
    assert.equal(seen[0]?.headers[PEER_HEADER], 'spiffe://td/caller');
    assert.equal(seen[0]?.headers['x-extra'], 'yes');
    const body = handedOver.at(-1);
    assert.ok(
      body !== undefined && body.length > 0 && body.every((b) => b === 0),
      'the worker copy is zeroed',
    );
  });

  it('replaces a caller-supplied peer header with the verified caller', async () => {
    seen.length = 0;
    await send('{}', { [PEER_HEADER]: 'spiffe://td/forged' });
    assert.equal(seen[0]?.headers[PEER_HEADER], 'spiffe://td/caller');
  });

  it('forwards a request without a body', async () => {
    seen.length = 0;
    const res = await send(undefined);
    assert.equal(res.status, 200);
    assert.equal(seen[0]?.body, '');
  });

  it('declines chunked and oversized bodies (they take the HTTP bridge) without reading them', async () => {
    seen.length = 0;
    const chunked = await send('{}', { 'Transfer-Encoding': 'chunked' });
    assert.equal(chunked.text, 'bridge');
    const big = await send('x'.repeat(LIMIT + 1), {});
    assert.equal(big.text, 'bridge');
    assert.equal(seen.length, 0);
  });

  it("passes the main thread's Connection: close on", async () => {
    const res = await send('{}', { 'X-Mode': 'close' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.connection, 'close');
  });

  it('closes the connection when the main thread destroys the response', async () => {
    await assert.rejects(send('{}', { 'X-Mode': 'destroy' }), /socket hang up|ECONNRESET/);
  });

  it('keeps serving many requests in parallel, each answered with its own body', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => `{"n":${String(i)}}`);
    const answers = await Promise.all(bodies.map((b) => send(b)));
    assert.deepEqual(
      answers.map((a) => a.text),
      bodies.map((b) => JSON.stringify({ echo: b })),
    );
  });
});
