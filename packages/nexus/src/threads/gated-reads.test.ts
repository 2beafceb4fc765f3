import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatedReads, secretPathOf } from './gated-reads.ts';

const MAX = 256;

describe('secretPathOf', () => {
  it('finds the path of a secret get body, and nothing in anything else', () => {
    const of = (text: string) => secretPathOf(Buffer.from(text));
    assert.equal(of('{"path":"cloud/master","version":0}'), 'cloud/master');
    assert.equal(of('{"version":1}'), undefined);
    assert.equal(of('{"path":7}'), undefined);
    assert.equal(of('["cloud/master"]'), undefined);
    assert.equal(of('null'), undefined);
    assert.equal(of('{"path":"a"'), undefined);
    assert.equal(of(''), undefined);
    assert.equal(secretPathOf(new Uint8Array([0xff, 0xfe, 0x7b])), undefined);
  });
});

describe('gated reads in front of an API thread (real HTTP)', () => {
  let server: http.Server;
  let base: string;
  const gatedPaths = new Set(['cloud/master']);
  /** What the handler here saw as its body, per request answered here. */
  const seenHere: string[] = [];
  const forwardedRead: Buffer[] = [];

  const reply = (res: ServerResponse, text: string): void => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
  };

  before(async () => {
    const gated = createGatedReads({
      maxBodySize: MAX,
      gates: (path) => gatedPaths.has(path),
      forward: (req, res) => {
        // The main thread would stream the body itself: it must still be unread here.
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => reply(res, `main-unread:${String(Buffer.concat(chunks).length)}`));
      },
      forwardRead: (_req, res, body) => {
        forwardedRead.push(Buffer.from(body));
        reply(res, `main-read:${body.toString('utf8')}`);
      },
    });
    const local = (req: IncomingMessage, res: ServerResponse): void => {
      const body = gated.bodyReadBefore(req);
      seenHere.push(body === undefined ? '<none>' : body.toString('utf8'));
      // Taken once: a second ask finds nothing.
      assert.equal(gated.bodyReadBefore(req), undefined);
      reply(res, 'here');
    };
    server = http.createServer((req, res) => gated.answer(req, res, local));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const post = async (body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/v1/store/secrets?action=get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return res.text();
  };

  it('answers a read of a path no rule gates here, with the body it read', async () => {
    const body = '{"path":"apps/db","version":0}';
    assert.equal(await post(body), 'here');
    assert.deepEqual(seenHere.at(-1), body);
  });

  it('hands a read of a gated path to the main thread with its body intact', async () => {
    const body = '{"path":"cloud/master","version":2}';
    const before = seenHere.length;
    assert.equal(await post(body), `main-read:${body}`);
    assert.equal(seenHere.length, before);
  });

  it('hands a body that names no path to the main thread (which says what is wrong)', async () => {
    assert.equal(await post('{"path":'), 'main-read:{"path":');
    assert.equal(await post('{"version":1}'), 'main-read:{"version":1}');
  });

  it('follows rule changes: a path gated later goes to the main thread, ungated again comes back', async () => {
    const body = '{"path":"apps/db"}';
    gatedPaths.add('apps/db');
    assert.equal(await post(body), `main-read:${body}`);
    gatedPaths.delete('apps/db');
    assert.equal(await post(body), 'here');
  });

  it('hands a body above the limit, or of no declared size, to the main thread unread', async () => {
    const big = JSON.stringify({ path: 'apps/db', pad: 'x'.repeat(MAX) });
    assert.equal(await post(big), `main-unread:${String(Buffer.byteLength(big))}`);
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${base}/v1/store/secrets?action=get`,
        { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        },
      );
      req.on('error', reject);
      req.write('{"path":');
      req.end('"apps/db"}');
    });
    assert.equal(chunked, 'main-unread:18');
  });
});
