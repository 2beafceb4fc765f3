/**
 * Several Nexus replicas on one PostgreSQL database (ADR 0032), all real processes: a private
 * cluster, the dev identity issuer, three keepers and three Nexus processes (the third with two
 * API threads), bootstrapped through the SECOND replica. Each replica gets the root key from the
 * keepers on its own. Then: a write on one is read on the others; a policy change on one is in
 * force on the others at the very next request (also right after every LISTEN connection was
 * killed, so no notification can have helped); concurrent puts on one secret through all
 * replicas lose no version; bootstrap through any replica refuses the live system; the keepers
 * hold the right shares and no replica calls another's push suspect; a write whose COMMIT answer
 * is lost (a proxy in front of the database cuts the connection right after the commit) is
 * answered 500 `api_outcome_unknown` and the SDK does not send it to the other replica.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import { createSpikeClient, isSpikeError, SpikeOutcomeUnknownError, type SpikeClient } from '@spike-ts/sdk';
import { preparedDatabase, startTestCluster, type TestCluster } from '@spike-ts/store/testing';
import { freePorts, Stack, waitFor, type IdentityName } from '../../scripts/stack.ts';
import { launch, NEXUS_BIN, type Child } from '../nexus/processes.ts';
import { startCommitFaultProxy, type CommitFaultProxy } from './pg-commit-fault-proxy.ts';

const BOOTSTRAP_ENV: Record<string, string> = {
  SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '2',
  SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL: '100ms',
  SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL: '1s',
  SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: '5s',
  SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT: '60s',
};

interface Replica {
  readonly url: string;
  readonly healthPort: number;
  readonly child: Child;
}

let cluster: TestCluster;
let database: string;
let proxy: CommitFaultProxy;
let dir: string;
let stack: Stack;
const replicas: Replica[] = [];
const sources = new Map<IdentityName, Promise<X509Source>>();
const clients: SpikeClient[] = [];

function source(name: IdentityName): Promise<X509Source> {
  let s = sources.get(name);
  if (s === undefined) {
    s = createX509Source({ endpoint: stack.endpoint(name), timeoutMs: 20_000, env: {} });
    sources.set(name, s);
  }
  return s;
}

/** An SDK client as `name` talking to replica `i` only. */
async function client(name: IdentityName, i: number): Promise<SpikeClient> {
  const c = await createSpikeClient({
    source: await source(name),
    nexusUrl: replicas[i]?.url ?? '',
    env: {},
    timeoutMs: 15_000,
  });
  clients.push(c);
  return c;
}

function readyzAnswer(port: number): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve({ status: undefined, body: '' }));
  });
}
const readyz = async (port: number): Promise<number | undefined> => (await readyzAnswer(port)).status;

/** `viaProxy`: the replica reaches the database through the commit-fault proxy (TCP, no TLS). */
async function startReplica(apiThreads: number, viaProxy = false): Promise<Replica> {
  const [port = 0, healthPort = 0] = await freePorts(2);
  const n = replicas.length + 1;
  const child = launch(NEXUS_BIN, {
    ...stack.baseEnv('nexus'),
    SPIKE_NEXUS_BACKEND_STORE: 'postgres',
    SPIKE_NEXUS_POSTGRES_URL: viaProxy
      ? `postgresql://${cluster.runtimeRole.name}@127.0.0.1:${String(proxy.port)}/${database}`
      : `postgresql://${cluster.runtimeRole.name}@/${database}?host=${cluster.socketDir}`,
    ...(viaProxy ? { SPIKE_NEXUS_POSTGRES_SSLMODE: 'disable' } : {}),
    SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: cluster.runtimeRole.passwordFile,
    SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'true',
    SPIKE_NEXUS_TLS_PORT: `127.0.0.1:${String(port)}`,
    SPIKE_NEXUS_HEALTH_ADDR: `127.0.0.1:${String(healthPort)}`,
    SPIKE_NEXUS_AUDIT_LOG: join(dir, `audit-${String(n)}.jsonl`),
    SPIKE_NEXUS_API_THREADS: String(apiThreads),
    SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL: '1s',
    SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL: '10m',
    SPIKE_SYSTEM_LOG_LEVEL: 'INFO',
  });
  const replica = { url: `https://localhost:${String(port)}`, healthPort, child };
  replicas.push(replica);
  await waitFor(`replica ${String(n)}'s health listener`, 30_000, async () => {
    if (child.proc.exitCode !== null) throw new Error(`replica ${String(n)} exited:\n${child.output()}`);
    return (await readyz(healthPort)) !== undefined;
  });
  return replica;
}

async function waitAllReady(): Promise<void> {
  for (const [i, r] of replicas.entries()) {
    await waitFor(
      `replica ${String(i + 1)} to be ready`,
      60_000,
      async () => (await readyz(r.healthPort)) === 200,
    );
  }
}

/** The backends of the replicas' notification connections. */
async function listeners(): Promise<number[]> {
  const r = await cluster.superuser<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'spike-nexus-listen' AND datname = $1",
    [database],
  );
  return r.rows.map((row) => row.pid);
}

/** Whether `c` may read `path` now: true, false (401), anything else fails the test. */
async function canRead(c: SpikeClient, path: string): Promise<boolean> {
  try {
    await c.getSecret(path);
    return true;
  } catch (err) {
    if (isSpikeError(err) && err.status === 401) return false;
    throw err;
  }
}

before(async () => {
  cluster = await startTestCluster();
  database = await preparedDatabase(cluster);
  dir = await mkdtemp('/tmp/spr-');
  stack = await Stack.withFreePorts({
    dir,
    socketDir: join(dir, 's'),
    keeperEnv: { SPIKE_SYSTEM_LOG_LEVEL: 'INFO' },
  });
  await stack.startIssuer();
  await waitFor('the demo identity socket', 20_000, () => existsSync(join(dir, 's', 'demo.sock')));
  await stack.startKeepers();
  proxy = await startCommitFaultProxy(join(cluster.socketDir, `.s.PGSQL.${String(cluster.port)}`));
  await startReplica(1, true);
  await startReplica(1);
  await startReplica(2);
  // Bootstrap through the second replica; the others learn the root key from the keepers.
  const boot = await stack.runBootstrap({ ...BOOTSTRAP_ENV, SPIKE_NEXUS_API_URL: replicas[1]?.url ?? '' });
  assert.equal(boot.code, 0, `bootstrap through replica 2 failed:\n${boot.stderr}`);
  await waitAllReady();
});

after(async () => {
  for (const c of clients) await c.close();
  for (const r of replicas) {
    if (r.child.proc.exitCode === null) {
      r.child.proc.kill('SIGTERM');
      await r.child.exited;
    }
  }
  await stack?.stop();
  for (const s of sources.values()) await s.then((src) => src.close()).catch(() => undefined);
  await proxy?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  await cluster?.stop();
});

describe('Nexus replicas on one PostgreSQL database', () => {
  it('every replica recovered the root key on its own; a write on one is read on every other', async () => {
    const pilots = await Promise.all(replicas.map((_, i) => client('pilot', i)));
    for (const [i, writer] of pilots.entries()) {
      await writer.putSecret('replicas/rw', { by: String(i), n: String(i) });
      for (const reader of pilots)
        assert.deepEqual(await reader.getSecret('replicas/rw'), { by: String(i), n: String(i) });
    }
    for (const r of replicas) assert.match(r.child.output(), /root key installed/);
  });

  it('a policy change on one replica is enforced on the others at the next request', async () => {
    const admin = await client('pilot', 0);
    await admin.putSecret('apps/demo/key', { k: 'v' });
    // Several connections to the replica with API threads, so both of its threads answer.
    const demos = [
      await client('demo', 1),
      await client('demo', 2),
      await client('demo', 2),
      await client('demo', 2),
    ];
    for (const d of demos) assert.equal(await canRead(d, 'apps/demo/key'), false);
    for (let round = 0; round < 3; round++) {
      await admin.putPolicy({
        name: 'demo-read',
        spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
        pathPattern: '^apps/demo/.*$',
        permissions: ['read'],
      });
      for (const d of demos) assert.equal(await canRead(d, 'apps/demo/key'), true, `round ${String(round)}`);
      // Narrowed elsewhere: in force here at once.
      await admin.putPolicy({
        name: 'demo-read',
        spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
        pathPattern: '^apps/other/.*$',
        permissions: ['read'],
      });
      for (const d of demos) assert.equal(await canRead(d, 'apps/demo/key'), false, `round ${String(round)}`);
    }
    await admin.deletePolicy('demo-read');
  });

  it('with every LISTEN connection killed, a policy change is still in force at the next request', async () => {
    const admin = await client('pilot', 0);
    await admin.putSecret('apps/demo/listen', { k: 'v' });
    const demo = await client('demo', 1);
    const threaded = await client('demo', 2);
    // One notification connection per API thread of every replica: 1 + 1 + 2.
    await waitFor('every notification connection', 20_000, async () => (await listeners()).length === 4);
    const grant = {
      name: 'demo-listen',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
      pathPattern: '^apps/demo/listen$',
      permissions: ['read' as const],
    };
    for (let round = 0; round < 3; round++) {
      await cluster.superuser(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'spike-nexus-listen' AND datname = $1",
        [database],
      );
      // Right away, before any replica could listen again: notifications of this change are lost.
      await admin.putPolicy(grant);
      assert.equal(await canRead(demo, 'apps/demo/listen'), true);
      assert.equal(await canRead(threaded, 'apps/demo/listen'), true);
      await admin.deletePolicy(grant.name);
      assert.equal(await canRead(demo, 'apps/demo/listen'), false);
      assert.equal(await canRead(threaded, 'apps/demo/listen'), false);
    }
    // And they listen again by themselves.
    await waitFor(
      'the notification connections to come back',
      20_000,
      async () => (await listeners()).length === 4,
    );
    for (const r of replicas) assert.match(r.child.output(), /change notification connection was lost/);
  });

  it('concurrent puts of one secret through every replica lose no version and reuse no number', async () => {
    const pilots = [
      ...(await Promise.all(replicas.map((_, i) => client('pilot', i)))),
      ...(await Promise.all(replicas.map((_, i) => client('pilot', i)))),
    ];
    const perClient = 8;
    const written = new Set<string>();
    await Promise.all(
      pilots.map(async (c, i) => {
        for (let j = 0; j < perClient; j++) {
          const value = `${String(i)}-${String(j)}`;
          await c.putSecret('replicas/contended', { value });
          written.add(value);
        }
      }),
    );
    const total = pilots.length * perClient;
    const meta = await pilots[0]?.getSecretMetadata('replicas/contended');
    assert.equal(meta?.metadata.currentVersion, total);
    // Every kept version holds a different acknowledged value.
    const kept = Object.keys(meta?.versions ?? {}).map(Number);
    assert.ok(kept.length > 0);
    const seen = new Set<string>();
    for (const v of kept) {
      const value = (await pilots[1]?.getSecret('replicas/contended', v))?.['value'] ?? '';
      assert.ok(written.has(value), value);
      assert.equal(seen.has(value), false, `version ${String(v)} repeats ${value}`);
      seen.add(value);
    }
  });

  it('a write whose COMMIT answer was lost is 500 api_outcome_unknown and never sent to another replica', async () => {
    // Replica 1 reaches the database through the proxy; the client knows replicas 1 and 2.
    const both = await createSpikeClient({
      source: await source('pilot'),
      nexusUrl: [replicas[0]?.url ?? '', replicas[1]?.url ?? ''],
      env: {},
      timeoutMs: 15_000,
    });
    clients.push(both);
    await both.putSecret('replicas/lost', { v: '1' });
    const lost = proxy.loseNextCommitAnswer();
    await assert.rejects(both.putSecret('replicas/lost', { v: '2' }), (err: unknown) => {
      assert.ok(err instanceof SpikeOutcomeUnknownError, String(err));
      assert.equal(err.status, 500);
      assert.equal(err.code, 'api_outcome_unknown');
      return true;
    });
    await lost;
    // The write did commit, exactly once: not repeated on replica 2.
    const other = await client('pilot', 1);
    const meta = await other.getSecretMetadata('replicas/lost');
    assert.equal(meta.metadata.currentVersion, 2);
    assert.deepEqual(await other.getSecret('replicas/lost'), { v: '2' });
    // Replica 1 recovers by itself (the pool replaces the broken connection).
    await both.putSecret('replicas/lost', { v: '3' });
    assert.equal((await other.getSecretMetadata('replicas/lost')).metadata.currentVersion, 3);
    assert.match(replicas[0]?.child.output() ?? '', /api_outcome_unknown|may have been applied/);
  });

  it('bootstrap through any replica refuses the live system', async () => {
    for (const r of replicas) {
      const res = await stack.runBootstrap({ ...BOOTSTRAP_ENV, SPIKE_NEXUS_API_URL: r.url });
      assert.notEqual(res.code, 0, res.stdout);
      assert.match(res.stderr, /live|already/i);
    }
    // Still serving, same data.
    const pilot = await client('pilot', 2);
    assert.ok((await pilot.getSecret('replicas/rw'))['by'] !== undefined);
  });

  it('/readyz says when a replica cannot reach the database; the others stay ready', async () => {
    const [cut, ...others] = replicas;
    assert.ok(cut !== undefined);
    proxy.cut();
    try {
      await waitFor('replica 1 to report the database unreachable', 30_000, async () => {
        const a = await readyzAnswer(cut.healthPort);
        return a.status === 503 && a.body === '{"ready":false,"database":"unreachable"}';
      });
      for (const r of others) assert.equal(await readyz(r.healthPort), 200);
      await assert.rejects((await client('pilot', 0)).getSecret('replicas/rw'), (err: unknown) => {
        assert.ok(isSpikeError(err));
        assert.equal(err.status, 503);
        return true;
      });
    } finally {
      proxy.resume();
    }
    await waitFor('replica 1 to be ready again', 30_000, async () => (await readyz(cut.healthPort)) === 200);
    assert.deepEqual(Object.keys(await (await client('pilot', 0)).getSecret('replicas/rw')).sort(), [
      'by',
      'n',
    ]);
  });

  it('three replicas keep the keepers seeded without calling each other suspect', () => {
    for (const r of replicas) {
      assert.doesNotMatch(r.child.output(), /suspect keeper/);
      assert.doesNotMatch(r.child.output(), /re-seed/i);
    }
  });
});
