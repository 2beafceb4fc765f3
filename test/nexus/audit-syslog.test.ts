/**
 * Audit shipping against a real syslog daemon (Debian's rsyslogd, unprivileged, on loopback):
 * records arrive parsed as RFC 5424 with their JSON intact; the daemon killed and started again
 * in the middle of a stream (buffer policy: nothing produced while it is down is lost while the
 * queue holds, drops are counted once it overflows; block policy: a real Nexus refuses mutations
 * meanwhile and still answers reads); TLS with a client certificate, and a server the CA does not
 * vouch for is never sent anything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { createCa, issueSvid } from '@spike-ts/identity/mint';
import {
  createAuditLog,
  openSyslogSink,
  type AuditLog,
  type AuditRecord,
  type SyslogSink,
  type SyslogSinkOptions,
} from '@spike-ts/nexus';
import { waitFor } from '../../scripts/stack.ts';
import { call, createPki, ID, startNexus, type Pki } from './harness.ts';
import { promtool } from '../metrics/promtool.ts';
import { sample, scrape } from '../metrics/scrape-kit.ts';
import { startRsyslog, type ParsedMessage, type Rsyslog, type RsyslogTls } from './rsyslog.ts';

const record = (i: number, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  time: '2026-01-01T00:00:00.000Z',
  requestId: `r${String(i)}`,
  caller: 'spiffe://spike.ist/workload/a',
  route: '/v1/store/secrets',
  action: 'get',
  path: `tenants/ü/${String(i)}`,
  decision: 'allowed',
  status: 200,
  durationMs: 1,
  ...extra,
});

/** The sequence numbers of the records that arrived (`r<seq>` request ids), in arrival order. */
function arrived(messages: readonly ParsedMessage[]): number[] {
  const seqs: number[] = [];
  for (const m of messages) {
    try {
      const rec = JSON.parse(m.msg) as AuditRecord;
      seqs.push(Number(rec.requestId.slice(1)));
    } catch {
      // A line cut by the kill: that record counts as missing.
    }
  }
  return seqs;
}

const FAST_BACKOFF = { firstMs: 20, maxMs: 200 } as const;

describe('audit shipping to rsyslog', () => {
  let dir: string;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spx-syslog-'));
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await rm(dir, { recursive: true, force: true });
  });

  const daemon = async (name: string, tls?: RsyslogTls): Promise<Rsyslog> => {
    const sub = join(dir, name);
    await mkdir(sub);
    const d = await startRsyslog(sub, tls === undefined ? {} : { tls });
    cleanups.push(() => d.stop('SIGKILL'));
    return d;
  };
  const sink = (d: Rsyslog, opts: Partial<SyslogSinkOptions> = {}): { sink: SyslogSink; log: AuditLog } => {
    const s = openSyslogSink({
      host: '127.0.0.1',
      port: d.port,
      queueSize: 100_000,
      policy: 'buffer',
      facility: 10,
      backoff: FAST_BACKOFF,
      ...opts,
    });
    cleanups.push(() => s.close());
    return { sink: s, log: createAuditLog(s) };
  };

  it('delivers each record as an RFC 5424 message whose MSG is the record JSON', async () => {
    const d = await daemon('plain');
    const { sink: s, log } = sink(d, { hostname: 'nexus-1.example', facility: 13 });
    const sent = [record(0), record(1, { decision: 'denied', status: 401, err: 'access_unauthorized' })];
    for (const r of sent) log.record(r);
    // API threads hand over several lines at once: each becomes its own message.
    s.write(`${JSON.stringify(record(2))}\n${JSON.stringify(record(3))}\n`);
    const messages = await d.waitForMessages(4);
    assert.equal(messages.length, 4);
    for (const m of messages) {
      assert.equal(m.version, '1', 'parsed as RFC 5424');
      assert.equal(m.pri, 13 * 8 + 6);
      assert.equal(m.hostname, 'nexus-1.example');
      assert.equal(m.appName, 'spike-nexus');
      assert.equal(m.procId, String(process.pid));
      assert.equal(m.msgId, 'audit');
      assert.equal(m.structuredData, '-');
      assert.ok(!Number.isNaN(Date.parse(m.time)));
    }
    assert.deepEqual(JSON.parse(messages[0]?.msg ?? ''), sent[0]);
    assert.deepEqual(JSON.parse(messages[1]?.msg ?? ''), sent[1]);
    assert.deepEqual(arrived(messages), [0, 1, 2, 3]);
    assert.deepEqual(
      { ...s.stats(), queued: 0 },
      { connected: 1, queued: 0, dropped: 0, sent: 4, connectFailures: 0 },
    );
  });

  it('buffer policy: the daemon killed mid-stream and restarted loses nothing produced while it is down', async (t) => {
    const d = await daemon('restart');
    const { sink: s, log } = sink(d);
    const total = 3000;
    const killAt = 1000;
    const restartAt = 2000;
    let noticedAt = -1;
    /** Records handed to the kernel when the sink noticed (they went out in order: seqs below it). */
    let sentWhenNoticed = -1;
    const notice = (i: number): void => {
      if (noticedAt >= 0) return;
      noticedAt = i;
      sentWhenNoticed = s.stats().sent;
    };
    let killed: Promise<void> | undefined;
    for (let i = 0; i < total; i++) {
      if (i === killAt) killed = d.stop('SIGKILL');
      if (i === restartAt) {
        await killed;
        // The sink has seen the connection go (it would reconnect to a live daemon otherwise).
        await waitFor('the sink to notice the daemon is gone', 20_000, () => s.stats().connected === 0);
        notice(i);
        await d.start();
      }
      log.record(record(i));
      if (i >= killAt && s.stats().connected === 0) notice(i);
      if (i % 25 === 0) await yieldTurn();
    }
    await waitFor('the last record', 30_000, async () => arrived(await d.messages()).includes(total - 1));
    const seqs = arrived(await d.messages());
    assert.equal(new Set(seqs).size, seqs.length, 'no record twice');
    const got = new Set(seqs);
    const missing = [...Array(total).keys()].filter((i) => !got.has(i));
    // Only records the kernel had accepted for the dead connection can be missing (TCP has no
    // acknowledgements; rsyslogd killed with SIGKILL also loses what it read but had not written);
    // every record written after the sink noticed was queued and arrived.
    assert.ok(noticedAt >= killAt, 'the sink noticed the kill');
    t.diagnostic(
      `kill at ${String(killAt)}, noticed at ${String(noticedAt)}, sent then ${String(sentWhenNoticed)}, missing ${String(missing.length)}`,
    );
    assert.ok(
      missing.every((i) => i < sentWhenNoticed && i < noticedAt),
      `missing ${JSON.stringify(missing.slice(0, 20))} (kill at ${String(killAt)}, noticed at ${String(noticedAt)}, sent ${String(sentWhenNoticed)})`,
    );
    const stats = s.stats();
    assert.equal(stats.dropped, 0);
    assert.equal(stats.connected, 1);
    assert.ok(stats.connectFailures >= 1);
  });

  it('buffer policy: once the queue overflows, further records are dropped and counted', async () => {
    const d = await daemon('overflow');
    const { sink: s, log } = sink(d, { queueSize: 50 });
    log.record(record(0));
    await d.waitForMessages(1);
    await d.stop('SIGKILL');
    await waitFor('the sink to notice the daemon is gone', 20_000, () => s.stats().connected === 0);
    assert.equal(s.canTake(), false);
    assert.equal(s.acceptingWrites(), true, 'buffer policy never refuses');
    for (let i = 1; i <= 200; i++) log.record(record(i));
    assert.equal(s.stats().queued, 50);
    assert.equal(s.stats().dropped, 150);
    await d.start();
    await waitFor('the queue to drain', 30_000, () => s.stats().queued === 0);
    const seqs = arrived(await d.waitForMessages(51));
    // The queue kept the first 50 records of the outage; the 150 after them were dropped.
    assert.deepEqual(seqs, [...Array(51).keys()]);
    assert.equal(s.stats().dropped, 150);
  });

  it('block policy: a Nexus refuses mutations while the daemon is down, answers reads, and recovers', async () => {
    const d = await daemon('block');
    const pki: Pki = await createPki();
    const t = await startNexus(pki, {
      env: {
        SPIKE_NEXUS_AUDIT_SYSLOG: `tcp://127.0.0.1:${String(d.port)}`,
        SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN: 'block',
        SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE: '1000',
      },
      metricsMinIntervalMs: 0,
    });
    cleanups.push(() => t.close());
    const metric = async (name: string): Promise<number | undefined> =>
      sample((await scrape(t.nexus.healthAddress()?.port ?? 0)).text, name);
    const su = await pki.cert(ID.superuser);
    const put = (n: number) =>
      call(t.port, pki, {
        path: '/v1/store/secrets',
        body: { path: 'a/b', values: { n: String(n) } },
        client: su,
      });
    const get = () =>
      call(t.port, pki, { path: '/v1/store/secrets?action=get', body: { path: 'a/b' }, client: su });

    await waitFor('Nexus to connect to the daemon', 20_000, () => t.nexus.auditShipping()?.connected === 1);
    assert.equal((await put(1)).status, 200);
    // The audit chain's start checkpoint (ADR 0040), then the write.
    await d.waitForMessages(2);

    await d.stop('SIGKILL');
    await waitFor(
      'Nexus to notice the daemon is gone',
      20_000,
      () => t.nexus.auditShipping()?.connected === 0,
    );
    for (let i = 0; i < 20; i++) {
      const [w, r] = await Promise.all([put(100 + i), get()]);
      assert.equal(w.status, 503);
      assert.deepEqual(w.json(), { err: 'state_not_ready' });
      assert.equal(w.headers['retry-after'], '1');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { data: { n: '1' } }, 'reads answered, and no refused write took effect');
    }
    assert.equal(t.nexus.auditShipping()?.dropped, 0);
    assert.equal(await metric('spike_nexus_audit_syslog_connected'), 0);
    assert.equal(await metric('spike_nexus_audit_syslog_queued_records'), 40);
    assert.equal(await metric('spike_nexus_audit_syslog_dropped_records_total'), 0);
    assert.ok(((await metric('spike_nexus_audit_syslog_connect_failures_total')) ?? 0) >= 1);

    await d.start();
    await waitFor('Nexus to reconnect', 30_000, () => t.nexus.auditShipping()?.connected === 1);
    assert.equal((await put(2)).status, 200);
    assert.deepEqual((await get()).json(), { data: { n: '2' } });
    // Every record of the outage (20 refused writes, 20 reads) arrived after the restart.
    const messages = await d.waitForMessages(1 + 1 + 40 + 2);
    const recs = messages
      .map((m) => JSON.parse(m.msg) as AuditRecord & { checkpoint?: string })
      .filter((r) => r.checkpoint === undefined);
    const outage = recs.slice(1, 41);
    assert.equal(outage.filter((r) => r.action === '' && r.status === 503).length, 20);
    assert.equal(outage.filter((r) => r.action === 'get' && r.status === 200).length, 20);
    assert.ok(
      recs.every((r) => !JSON.stringify(r).includes('"n"')),
      'no secret values in the records',
    );
    // The local sink got the same records.
    assert.equal(t.audit.records().length, recs.length);
    assert.equal(await metric('spike_nexus_audit_syslog_connected'), 1);
    assert.equal(await metric('spike_nexus_audit_syslog_sent_records_total'), messages.length);
    // The aggregator holds the very lines of the local sink (chain fields and checkpoints too).
    assert.deepEqual(
      messages.map((m) => m.msg),
      t.audit.lines.map((l) => l.slice(0, -1)),
    );
  });

  it('buffer policy: a Nexus keeps serving writes while the daemon is down and counts the records it drops', async () => {
    const d = await daemon('buffer-nexus');
    const pki: Pki = await createPki();
    const t = await startNexus(pki, {
      env: {
        SPIKE_NEXUS_AUDIT_SYSLOG: `tcp://127.0.0.1:${String(d.port)}`,
        SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN: 'buffer',
        SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE: '5',
      },
      metricsMinIntervalMs: 0,
    });
    cleanups.push(() => t.close());
    const su = await pki.cert(ID.superuser);
    await waitFor('Nexus to connect to the daemon', 20_000, () => t.nexus.auditShipping()?.connected === 1);
    await d.stop('SIGKILL');
    await waitFor(
      'Nexus to notice the daemon is gone',
      20_000,
      () => t.nexus.auditShipping()?.connected === 0,
    );
    for (let i = 0; i < 12; i++) {
      const r = await call(t.port, pki, {
        path: '/v1/store/secrets',
        body: { path: `a/${String(i)}`, values: { n: 'x' } },
        client: su,
      });
      assert.equal(r.status, 200, 'buffer: writes go on');
    }
    const text = (await scrape(t.nexus.healthAddress()?.port ?? 0)).text;
    assert.equal(sample(text, 'spike_nexus_audit_syslog_queued_records'), 5);
    assert.equal(sample(text, 'spike_nexus_audit_syslog_dropped_records_total'), 7);
    assert.equal(t.audit.records().length, 12, 'the local sink has every record');
    const checked = await promtool(['check', 'metrics'], text);
    assert.equal(checked.code, 0, `promtool: ${checked.stdout}${checked.stderr}`);
    assert.equal(checked.stdout.trim(), '', checked.stdout);
  });

  it('TLS: verifies the server against the CA and its name, presents a client certificate', async () => {
    const ca = await createCa({ trustDomain: 'syslog.test' });
    const server = await issueSvid(ca, { spiffeId: 'spiffe://syslog.test/rsyslog', dnsNames: ['localhost'] });
    const client = await issueSvid(ca, { spiffeId: 'spiffe://syslog.test/nexus' });
    const other = await createCa({ trustDomain: 'other.test' });
    const files = {
      caFile: join(dir, 'ca.pem'),
      certFile: join(dir, 'server.pem'),
      keyFile: join(dir, 'server-key.pem'),
    };
    await writeFile(files.caFile, ca.certPem);
    await writeFile(files.certFile, server.certPem);
    await writeFile(files.keyFile, server.keyPem, { mode: 0o600 });
    const d = await daemon('tls', { ...files, clientAuth: true });

    const { sink: s, log } = sink(d, {
      host: 'localhost',
      tls: createSecureContext({ ca: ca.certPem, cert: client.certPem, key: client.keyPem }),
    });
    log.record(record(7));
    const messages = await d.waitForMessages(1);
    assert.equal(messages[0]?.version, '1');
    assert.deepEqual(JSON.parse(messages[0]?.msg ?? ''), record(7));

    // A CA that did not sign the server's certificate: never connected, nothing sent.
    const { sink: wrongCa, log: wrongLog } = sink(d, {
      host: 'localhost',
      tls: createSecureContext({ ca: other.certPem, cert: client.certPem, key: client.keyPem }),
    });
    wrongLog.record(record(8));
    await waitFor('failed handshakes', 20_000, () => wrongCa.stats().connectFailures >= 2);
    // The right CA but a name the certificate does not carry (127.0.0.1 is not in its SANs).
    const { sink: wrongName, log: wrongNameLog } = sink(d, {
      host: '127.0.0.1',
      tls: createSecureContext({ ca: ca.certPem, cert: client.certPem, key: client.keyPem }),
    });
    wrongNameLog.record(record(9));
    await waitFor('failed handshakes', 20_000, () => wrongName.stats().connectFailures >= 2);
    assert.equal(wrongCa.stats().connected, 0);
    assert.equal(wrongCa.stats().sent, 0);
    assert.equal(wrongName.stats().connected, 0);
    assert.equal(wrongName.stats().sent, 0);
    assert.deepEqual(arrived(await d.messages()), [7]);
    assert.equal(s.stats().sent, 1);
  });
});
