import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readBody } from './read-body.ts';

interface Outcome {
  readonly size?: number;
  readonly tooLarge?: boolean;
}

function startServer(limit: number): Promise<{ server: Server; port: number; outcomes: Outcome[] }> {
  const outcomes: Outcome[] = [];
  const server = createServer((req, res) => {
    readBody(req, limit).then(
      (body) => {
        outcomes.push({ size: body.length });
        res.end(String(body.length));
      },
      (err: unknown) => {
        outcomes.push({ tooLarge: err instanceof BodyTooLargeError });
        res.setHeader('Connection', 'close');
        res.statusCode = 413;
        res.end();
      },
    );
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, port: (server.address() as AddressInfo).port, outcomes });
    });
  });
}

function post(port: number, chunks: Buffer[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('readBody', async () => {
  const { server, port, outcomes } = await startServer(100);
  after(() => server.close());

  it('reads a body within the limit', async () => {
    assert.equal(await post(port, [Buffer.alloc(60), Buffer.alloc(40)]), 200);
    assert.deepEqual(outcomes.at(-1), { size: 100 });
  });

  it('reads an empty body', async () => {
    assert.equal(await post(port, []), 200);
    assert.deepEqual(outcomes.at(-1), { size: 0 });
  });

  it('rejects a declared Content-Length over the limit before reading', async () => {
    const status = await post(port, [Buffer.alloc(101)], { 'Content-Length': '101' });
    assert.equal(status, 413);
    assert.deepEqual(outcomes.at(-1), { tooLarge: true });
  });

  it('rejects a chunked body that grows over the limit', async () => {
    const status = await post(port, [Buffer.alloc(50), Buffer.alloc(50), Buffer.alloc(50)]);
    assert.equal(status, 413);
    assert.deepEqual(outcomes.at(-1), { tooLarge: true });
  });
});
