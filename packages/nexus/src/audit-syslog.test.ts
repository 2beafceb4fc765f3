import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createLogger } from '@spike-ts/core';
import { NEXUS_ROUTE_SPECS } from '@spike-ts/protocol';
import { waitFor } from '../../../scripts/stack.ts';
import { isMutating } from './audit-shipping.ts';
import { frameSyslog, headerField, openSyslogSink, type SyslogSinkOptions } from './audit-syslog.ts';

/** Splits an octet-counted stream into messages; throws on a malformed frame. */
function unframe(bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    assert.ok(space > at, 'a length, then a space');
    const len = Number(bytes.subarray(at, space).toString('ascii'));
    assert.ok(Number.isInteger(len) && len > 0);
    out.push(bytes.subarray(space + 1, space + 1 + len).toString('utf8'));
    at = space + 1 + len;
  }
  return out;
}

interface Collector {
  readonly server: Server;
  readonly port: number;
  received(): Buffer;
  close(): Promise<void>;
}

async function collector(port = 0): Promise<Collector> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const line = (i: number): string => `${JSON.stringify({ requestId: `r${String(i)}`, path: 'ü/x' })}\n`;
const options = (port: number, extra: Partial<SyslogSinkOptions> = {}): SyslogSinkOptions => ({
  host: '127.0.0.1',
  port,
  queueSize: 100,
  policy: 'buffer',
  facility: 10,
  hostname: 'h',
  procId: '42',
  backoff: { firstMs: 10, maxMs: 50 },
  now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  ...extra,
});

describe('syslog framing', () => {
  it('writes an octet-counted RFC 5424 message with the JSON as MSG', () => {
    const msg = '{"path":"ü"}';
    const frame = frameSyslog({
      facility: 10,
      severity: 6,
      time: '2026-01-02T03:04:05.678Z',
      hostname: 'nexus-1',
      appName: 'spike-nexus',
      procId: '42',
      msgId: 'audit',
      msg,
    });
    const body = '<86>1 2026-01-02T03:04:05.678Z nexus-1 spike-nexus 42 audit - {"path":"ü"}';
    // The count is of bytes, not characters (ü is two bytes in UTF-8).
    assert.equal(frame.toString('utf8'), `${String(Buffer.byteLength(body))} ${body}`);
    assert.equal(Buffer.byteLength(body), body.length + 1);
  });

  it('puts the nil value in header fields that are empty, too long, or not printable ASCII', () => {
    assert.equal(headerField('nexus-1.example', 255), 'nexus-1.example');
    assert.equal(headerField('', 255), '-');
    assert.equal(headerField('a b', 255), '-');
    assert.equal(headerField('höst', 255), '-');
    assert.equal(headerField('x'.repeat(49), 48), '-');
    assert.equal(headerField('x'.repeat(48), 48), 'x'.repeat(48));
  });
});

describe('syslog sink', () => {
  it('sends one message per line, in order, split from chunks of several lines', async () => {
    const c = await collector();
    const sink = openSyslogSink(options(c.port));
    try {
      sink.write(line(0));
      sink.write(line(1) + line(2) + line(3));
      await waitFor('4 messages', 10_000, () => unframe(c.received()).length === 4);
      const messages = unframe(c.received());
      assert.deepEqual(
        messages.map((m) => m.replace(/^<86>1 2026-01-02T03:04:05\.678Z h spike-nexus 42 audit - /, '')),
        [0, 1, 2, 3].map((i) => line(i).trimEnd()),
      );
      assert.deepEqual(sink.stats(), { connected: 1, queued: 0, dropped: 0, sent: 4, connectFailures: 0 });
    } finally {
      await sink.close();
      await c.close();
    }
  });

  it('queues while nothing listens, drops and counts beyond the queue, delivers the queue once it can', async () => {
    // A port that refuses connections: bind, note it, close.
    const probe = await collector();
    const port = probe.port;
    await probe.close();
    const logged: { msg: string; level: string }[] = [];
    const logger = createLogger({
      level: 'debug',
      sink: (l) => void logged.push(JSON.parse(l) as { msg: string; level: string }),
    });
    const sink = openSyslogSink(options(port, { queueSize: 5, policy: 'block', logger }));
    let c: Collector | undefined;
    try {
      await waitFor('a failed connection', 10_000, () => sink.stats().connectFailures >= 1);
      assert.equal(sink.canTake(), false);
      assert.equal(sink.acceptingWrites(), false, 'block: no writes while disconnected');
      for (let i = 0; i < 8; i++) sink.write(line(i)); // never throws, never waits
      assert.equal(sink.stats().queued, 5);
      assert.equal(sink.stats().dropped, 3);
      const full = (): number => logged.filter((l) => l.msg.includes('queue is full')).length;
      assert.equal(full(), 1, 'one warning per episode, not one per record');
      assert.equal(logged.find((l) => l.msg.includes('queue is full'))?.level, 'warn');
      c = await collector(port);
      await waitFor('the queue to drain', 10_000, () => sink.stats().queued === 0 && sink.stats().sent === 5);
      assert.equal(sink.acceptingWrites(), true);
      assert.ok(logged.some((l) => l.msg === 'audit syslog queue drained'));
      assert.ok(logged.some((l) => l.msg === 'syslog aggregator connected'));
      await waitFor('5 messages', 10_000, () => unframe(c?.received() ?? Buffer.alloc(0)).length === 5);
      assert.deepEqual(
        unframe(c.received()).map((m) => JSON.parse(m.slice(m.indexOf(' - ') + 3)) as { requestId: string }),
        [0, 1, 2, 3, 4].map((i) => JSON.parse(line(i)) as { requestId: string }),
      );
    } finally {
      await sink.close();
      await c?.close();
    }
  });

  it('buffer policy accepts writes while disconnected; block refuses them while the queue is full', async () => {
    const probe = await collector();
    const port = probe.port;
    await probe.close();
    const buffer = openSyslogSink(options(port, { policy: 'buffer', queueSize: 1 }));
    const block = openSyslogSink(options(port, { policy: 'block', queueSize: 1 }));
    try {
      buffer.write(line(0));
      buffer.write(line(1));
      assert.equal(buffer.acceptingWrites(), true);
      assert.equal(buffer.stats().dropped, 1);
      assert.equal(block.acceptingWrites(), false);
    } finally {
      await buffer.close();
      await block.close();
    }
  });

  it('reconnects after the aggregator closes the connection and keeps the order', async () => {
    const c = await collector();
    const sink = openSyslogSink(options(c.port));
    try {
      sink.write(line(0));
      await waitFor('1 sent', 10_000, () => sink.stats().sent === 1);
      await c.close(); // drops the connection and stops listening
      await waitFor('the sink to notice', 10_000, () => sink.stats().connected === 0);
      sink.write(line(1));
      sink.write(line(2));
      const again = await collector(c.port);
      try {
        await waitFor('2 messages', 10_000, () => unframe(again.received()).length === 2);
        assert.deepEqual(
          unframe(again.received()).map((m) => m.slice(m.indexOf(' - ') + 3)),
          [line(1).trimEnd(), line(2).trimEnd()],
        );
      } finally {
        await sink.close();
        await again.close();
      }
    } finally {
      await sink.close();
    }
  });

  it('close sends what is queued, then stops reconnecting', async () => {
    const c = await collector();
    const sink = openSyslogSink(options(c.port));
    for (let i = 0; i < 50; i++) sink.write(line(i));
    await sink.close();
    await waitFor('50 messages', 10_000, () => unframe(c.received()).length === 50);
    assert.equal(sink.stats().connected, 0);
    await c.close();
  });
});

describe('mutating routes', () => {
  it('are Nexus routes that change what Nexus stores; reads and break-the-glass routes are not', () => {
    const mutating = new Set(NEXUS_ROUTE_SPECS.filter((spec) => isMutating({ spec })).map((s) => s.name));
    assert.deepEqual([...mutating].sort(), [
      'approval.approve',
      'approval.cancel',
      'approval.deny',
      'approval.request',
      'key.create',
      'key.retire',
      'key.rotate',
      'operator.damaged.delete',
      'policy.delete',
      'policy.upsert',
      'secret.delete',
      'secret.put',
      'secret.undelete',
    ]);
    for (const read of [
      'secret.get',
      'secret.list',
      'policy.get',
      'approval.get',
      'approval.list',
      'cipher.encrypt',
      'operator.recover',
      'operator.restore',
    ]) {
      assert.ok(!mutating.has(read), read);
    }
  });
});
