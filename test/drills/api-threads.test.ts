/**
 * Nexus with API threads (`SPIKE_NEXUS_API_THREADS=3`), real processes and real mTLS. Every
 * request goes over a new connection, so the kernel spreads them over the main thread and the
 * two API threads; each check is repeated on many connections and must hold on all of them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MtlsClient } from '@spike-ts/identity';
import { BIN } from '../../scripts/stack.ts';
import { startRsyslog, type Rsyslog } from '../nexus/rsyslog.ts';
import { Drill, waitFor } from './drill-kit.ts';

const CONNECTIONS = 24;

describe('Nexus with API threads (real processes, real mTLS)', () => {
  let drill: Drill;
  let pilot: MtlsClient;
  let demo: MtlsClient;
  let auditDir: string;
  let auditFile: string;
  let syslog: Rsyslog;

  before(async () => {
    auditDir = await mkdtemp('/tmp/spx-audit-');
    auditFile = join(auditDir, 'audit.jsonl');
    syslog = await startRsyslog(auditDir);
    drill = await Drill.start({
      nexusEnv: {
        SPIKE_NEXUS_API_THREADS: '3',
        SPIKE_NEXUS_AUDIT_LOG: auditFile,
        SPIKE_NEXUS_AUDIT_SYSLOG: `tcp://127.0.0.1:${String(syslog.port)}`,
        SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN: 'buffer',
      },
    });
    pilot = await drill.mtlsAs('pilot', 'nexus');
    demo = await drill.mtlsAs('demo', 'nexus');
  });
  after(async () => {
    await drill.close();
    await syslog.stop();
    await rm(auditDir, { recursive: true, force: true });
  });

  const call = async (
    client: MtlsClient,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await client.request(`${drill.stack.nexusUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = res.body.toString('utf8');
    return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const put = async (value: string): Promise<void> => {
    const res = await call(pilot, '/v1/store/secrets', { path: 'threads/app/key', values: { v: value } });
    assert.equal(res.status, 200);
  };
  /** `CONNECTIONS` reads as the demo workload, each on its own connection. */
  const readsAsDemo = async (): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const res = await call(demo, '/v1/store/secrets?action=get', { path: 'threads/app/key' });
      const data = res.json.data as Record<string, string> | null | undefined;
      out.push(
        res.status === 200 ? `200 ${String(data?.v)}` : `${String(res.status)} ${String(res.json.err)}`,
      );
    }
    return out;
  };
  /** A policy that lets the demo workload read `threads/*`, applied by the superuser. */
  const grantDemoRead = async (name: string): Promise<void> => {
    const policy = {
      name,
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
      pathPattern: '^threads/.*$',
      permissions: ['read'],
    };
    assert.equal((await call(pilot, '/v1/acl/policy', policy)).status, 200);
  };
  const revokeDemoRead = async (name: string): Promise<void> => {
    assert.equal((await call(pilot, '/v1/acl/policy?action=delete', { id: name })).status, 200);
  };
  const all = (value: string): string[] => Array.from({ length: CONNECTIONS }, () => value);

  it('starts its API threads and logs them', async () => {
    await drill.logMatching('nexus', 0, 'root key installed in API thread');
  });

  it('applies every write and policy change at once, on every thread', async () => {
    await put('one');
    assert.deepEqual(await readsAsDemo(), all('401 access_unauthorized'));

    await grantDemoRead('threads-reader');
    assert.deepEqual(await readsAsDemo(), all('200 one'));

    await put('two');
    assert.deepEqual(await readsAsDemo(), all('200 two'));

    await revokeDemoRead('threads-reader');
    assert.deepEqual(await readsAsDemo(), all('401 access_unauthorized'));
  });

  it('ignores a caller-supplied bridge header: the SPIFFE ID comes from the mTLS handshake only', async () => {
    for (let i = 0; i < CONNECTIONS; i++) {
      const res = await call(
        demo,
        '/v1/store/secrets?action=list',
        {},
        {
          'X-Spike-Bridge-Peer': 'spiffe://spike.ist/spike/pilot/role/superuser',
        },
      );
      assert.equal(res.status, 401, `connection ${String(i)}`);
    }
  });

  it("writes every thread's audit records to the one audit file and the one syslog connection; SIGHUP reopens the file for all", async () => {
    /** Request ids of the reads of `threads/audit/<tag>-*` in one audit file. */
    const readsIn = async (file: string, tag: string): Promise<string[]> =>
      (await readFile(file, 'utf8'))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { requestId: string; action: string; path?: string })
        .filter((r) => r.action === 'get' && r.path?.startsWith(`threads/audit/${tag}-`) === true)
        .map((r) => r.requestId);
    const reads = async (tag: string): Promise<void> => {
      for (let i = 0; i < CONNECTIONS; i++) {
        const res = await call(pilot, '/v1/store/secrets?action=get', {
          path: `threads/audit/${tag}-${String(i)}`,
        });
        assert.equal(res.status, 404);
      }
    };
    await reads('a');
    await waitFor(
      'the first records',
      20_000,
      async () => (await readsIn(auditFile, 'a')).length === CONNECTIONS,
    );
    await rename(auditFile, `${auditFile}.1`);
    drill.stack.signalNexus('SIGHUP');
    await waitFor('the reopened file', 20_000, async () => {
      try {
        await readFile(auditFile);
        return true;
      } catch {
        return false;
      }
    });
    await reads('b');
    await waitFor(
      'the second records',
      20_000,
      async () => (await readsIn(auditFile, 'b')).length === CONNECTIONS,
    );
    const first = await readsIn(`${auditFile}.1`, 'a');
    const second = await readsIn(auditFile, 'b');
    assert.equal(first.length, CONNECTIONS);
    assert.equal(new Set([...first, ...second]).size, 2 * CONNECTIONS, 'one record per read, none twice');
    assert.deepEqual(await readsIn(auditFile, 'a'), [], 'nothing of before in the new file');
    // The same records, from every thread, reached the syslog daemon through the main thread's
    // one connection.
    await waitFor('the records at the syslog daemon', 20_000, async () => {
      const shipped = new Set(
        (await syslog.messages()).map((m) => (JSON.parse(m.msg) as { requestId: string }).requestId),
      );
      return [...first, ...second].every((id) => shipped.has(id));
    });
  });

  it('answers an oversized body with 413 on every thread and stores nothing', async () => {
    const huge = JSON.stringify({ path: 'threads/big', values: { v: 'x'.repeat(1_200_000) } });
    for (let i = 0; i < 6; i++) {
      const res = await call(pilot, '/v1/store/secrets', huge);
      assert.equal(res.status, 413, `connection ${String(i)}`);
    }
    const got = await call(pilot, '/v1/store/secrets?action=get', { path: 'threads/big' });
    assert.equal(got.status, 404);
  });

  it('after kill -9 and recovery from the keepers, every thread has the key and the policies again', async () => {
    await grantDemoRead('threads-recovered');
    await put('before-kill');
    await drill.stack.killNexus();
    const mark = drill.logMark('nexus');
    await drill.startNexus();
    await drill.waitReady();
    await drill.logMatching('nexus', mark, /"source":"keepers"/);
    // Both API threads of the new process install the key that the keepers gave back.
    await drill.logMatching(
      'nexus',
      mark,
      /root key installed in API thread.*root key installed in API thread/s,
    );
    pilot = await drill.mtlsAs('pilot', 'nexus');
    demo = await drill.mtlsAs('demo', 'nexus');
    assert.deepEqual(await readsAsDemo(), all('200 before-kill'));
    await revokeDemoRead('threads-recovered');
    assert.deepEqual(await readsAsDemo(), all('401 access_unauthorized'));
  });

  it('refuses to start a second Nexus with API threads on the same port (no silent port sharing)', async () => {
    const dir = await mkdtemp('/tmp/spx-second-');
    try {
      const port = new URL(drill.stack.nexusUrl).port;
      const child = spawn(process.execPath, [BIN.nexus], {
        env: {
          ...drill.stack.baseEnv('nexus'),
          SPIKE_NEXUS_TLS_PORT: `:${port}`,
          SPIKE_NEXUS_HEALTH_ADDR: 'off',
          SPIKE_NEXUS_DATA_DIR: join(dir, 'data'),
          SPIKE_NEXUS_API_THREADS: '2',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.stdout.resume();
      // A second Nexus that shares the port keeps running: stopped after a while, and the test fails.
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      clearTimeout(timer);
      assert.equal(code, 1, `the second Nexus was not refused: ${stderr}`);
      assert.match(stderr, /cannot listen: .*EADDRINUSE: address already in use/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // The first Nexus still answers on every thread.
    await put('after-second');
    for (let i = 0; i < CONNECTIONS; i++) {
      const res = await call(pilot, '/v1/store/secrets?action=get', { path: 'threads/app/key' });
      assert.equal(res.status, 200, `connection ${String(i)}`);
      assert.deepEqual(res.json.data, { v: 'after-second' });
    }
  });
});
