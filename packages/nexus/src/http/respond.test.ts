import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendOctets } from './respond.ts';

describe('sendOctets', () => {
  it('sends the bytes, then zeroes the buffer once the response is done', async () => {
    const body = Uint8Array.from([1, 2, 3, 250]);
    let closed!: Promise<void>;
    const server = http.createServer((req, res) => {
      closed = new Promise((resolve) => res.once('close', () => resolve()));
      sendOctets(req, res, 200, body, 'req-1');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${String(port)}/`);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), Uint8Array.from([1, 2, 3, 250]));
      await closed;
      assert.deepEqual(body, new Uint8Array(4));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
