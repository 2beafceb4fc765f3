/**
 * The Nexus listeners cut misbehaving connections close to the configured time (1 s header and
 * handshake timeouts, 2 s request timeout here), not tens of seconds late and not never: a client
 * that connects and sends nothing (plain and TLS, before, during and after the handshake), stops
 * half-way through its headers or its body, or stalls its second request on a keep-alive
 * connection. Each probe must see the connection closed within the configured time + 3 s.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import { ID, createPki, startNexus, type Pki, type TestNexus } from '../nexus/harness.ts';
import { closedWithin, drip, openRaw, openTls, readUntil } from './slow-clients.ts';

const HEADERS_MS = 1000;
const REQUEST_MS = 2000;
const HANDSHAKE_MS = 1000;
/** Slack for a busy machine: far below Node's 30 s sweep that used to decide. */
const SLACK_MS = 3000;

const GET_BODY = JSON.stringify({ path: 'a/b' });

describe('Nexus listener deadlines', () => {
  let pki: Pki;
  let t: TestNexus;
  let healthPort: number;
  let tlsAs: () => Promise<TLSSocket>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, {
      env: {
        SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: `${String(HEADERS_MS)}ms`,
        SPIKE_NEXUS_REQUEST_TIMEOUT: `${String(REQUEST_MS)}ms`,
        SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT: `${String(HANDSHAKE_MS)}ms`,
        // Long, so that only the deadlines under test can close an idle keep-alive connection.
        SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT: '60s',
      },
    });
    healthPort = t.nexus.healthAddress()?.port ?? 0;
    const su = await pki.cert(ID.superuser);
    tlsAs = () => openTls(t.port, { caPem: pki.caPem, keyPem: su.keyPem, certPem: su.certPem });
  });
  after(() => t.close());

  describe('API port (mTLS)', () => {
    it('closes a TCP connection that never starts the handshake', async () => {
      const since = Date.now();
      const socket = await openRaw(t.port);
      const ms = await closedWithin(socket, since, HANDSHAKE_MS + SLACK_MS, 'no ClientHello');
      assert.ok(ms >= HANDSHAKE_MS - 100, `closed after ${String(ms)} ms, before the handshake timeout`);
    });

    it('closes a connection that stops half-way through the ClientHello', async () => {
      const since = Date.now();
      const socket = await openRaw(t.port);
      // A TLS handshake record header announcing 512 bytes, then 3 of them.
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]));
      await closedWithin(socket, since, HANDSHAKE_MS + SLACK_MS, 'partial ClientHello');
    });

    it('closes a verified connection that sends no request', async () => {
      const socket = await tlsAs();
      const since = Date.now();
      const ms = await closedWithin(socket, since, HEADERS_MS + SLACK_MS, 'idle after the handshake');
      assert.ok(ms >= HEADERS_MS - 100, `closed after ${String(ms)} ms, before the header timeout`);
    });

    it('closes a connection whose headers stop half-way', async () => {
      const socket = await tlsAs();
      const since = Date.now();
      socket.write('POST /v1/store/secrets?action=get HTTP/1.1\r\nHost: nexus\r\n');
      await closedWithin(socket, since, HEADERS_MS + SLACK_MS, 'half the headers');
    });

    it('closes a connection that drips its headers forever', async () => {
      const socket = await tlsAs();
      const since = Date.now();
      socket.write('POST /v1/store/secrets?action=get HTTP/1.1\r\n');
      drip(
        socket,
        Array.from({ length: 100 }, (_, i) => `X-Slow-${String(i)}: 1\r\n`),
        300,
      );
      await closedWithin(socket, since, HEADERS_MS + SLACK_MS, 'dripping headers');
    });

    it('closes a connection whose body stops half-way', async () => {
      const socket = await tlsAs();
      const since = Date.now();
      socket.write(
        'POST /v1/store/secrets?action=get HTTP/1.1\r\nHost: nexus\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{"path":',
      );
      await closedWithin(socket, since, REQUEST_MS + SLACK_MS, 'half the body');
    });

    it('closes a connection that drips its body past the request timeout', async () => {
      const socket = await tlsAs();
      const since = Date.now();
      socket.write(
        'POST /v1/store/secrets?action=get HTTP/1.1\r\nHost: nexus\r\nContent-Length: 100\r\n\r\n',
      );
      drip(
        socket,
        Array.from({ length: 100 }, () => ' '),
        300,
      );
      await closedWithin(socket, since, REQUEST_MS + SLACK_MS, 'dripping body');
    });

    it('closes a connection that keeps dripping a body after an early answer', async () => {
      const socket = await tlsAs();
      const since = Date.now();
      const reply = readUntil(socket, '\r\n\r\n');
      socket.write('POST /v1/nowhere HTTP/1.1\r\nHost: nexus\r\nContent-Length: 100000\r\n\r\n');
      drip(
        socket,
        Array.from({ length: 1000 }, () => 'x'),
        200,
      );
      assert.match(await reply, /^HTTP\/1\.1 400 /);
      await closedWithin(socket, since, REQUEST_MS + SLACK_MS, 'body after the answer');
    });

    it('closes a keep-alive connection whose second request stops half-way', async () => {
      const socket = await tlsAs();
      const reply = readUntil(socket, '\r\n\r\n');
      socket.write(
        `POST /v1/store/secrets?action=get HTTP/1.1\r\nHost: nexus\r\nContent-Length: ${String(GET_BODY.length)}\r\n\r\n${GET_BODY}`,
      );
      assert.match(await reply, /^HTTP\/1\.1 404 /);
      // Idle for longer than the header timeout is fine between requests (keep-alive)...
      await new Promise((r) => setTimeout(r, HEADERS_MS + 500));
      assert.equal(socket.destroyed, false, 'an idle keep-alive connection was cut by the header timeout');
      // ...but once the next request has started, its headers have the header timeout.
      const since = Date.now();
      socket.write('POST /v1/store/secrets?action=get HTTP/1.1\r\nHost: nexus\r\n');
      await closedWithin(socket, since, HEADERS_MS + SLACK_MS, 'second request half-way');
    });

    it('still answers a request that arrives in pieces within the time limits', async () => {
      const socket = await tlsAs();
      const reply = readUntil(socket, '\r\n\r\n');
      socket.write('POST /v1/store/secrets?action=get HTTP/1.1\r\nHost: nexus\r\n');
      await new Promise((r) => setTimeout(r, 300));
      socket.write(`Content-Length: ${String(GET_BODY.length)}\r\n\r\n${GET_BODY.slice(0, 4)}`);
      await new Promise((r) => setTimeout(r, 300));
      socket.write(GET_BODY.slice(4));
      assert.match(await reply, /^HTTP\/1\.1 404 /);
      socket.destroy();
    });
  });

  describe('health port (plain HTTP)', () => {
    it('closes a connection that sends nothing', async () => {
      const since = Date.now();
      const socket = await openRaw(healthPort);
      const ms = await closedWithin(socket, since, HEADERS_MS + SLACK_MS, 'idle health connection');
      assert.ok(ms >= HEADERS_MS - 100, `closed after ${String(ms)} ms, before the header timeout`);
    });

    it('closes a connection whose headers stop half-way', async () => {
      const since = Date.now();
      const socket = await openRaw(healthPort);
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      await closedWithin(socket, since, HEADERS_MS + SLACK_MS, 'half the headers');
    });

    it('answers at once and closes a connection whose body is incomplete (nothing is waited for)', async () => {
      const since = Date.now();
      const socket = await openRaw(healthPort);
      const reply = readUntil(socket, '\r\n\r\n');
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc');
      assert.match(await reply, /^HTTP\/1\.1 200 /);
      await closedWithin(socket, since, SLACK_MS, 'half the body');
    });

    it('answers one request per connection, then closes it', async () => {
      const since = Date.now();
      const socket = await openRaw(healthPort);
      const reply = readUntil(socket, '{"status":"ok"}');
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const text = await reply;
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.match(text, /\r\nconnection: close\r\n/i);
      await closedWithin(socket, since, SLACK_MS, 'after the answer');
    });
  });
});
