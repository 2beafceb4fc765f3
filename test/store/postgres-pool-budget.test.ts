/**
 * `SPIKE_NEXUS_DB_MAX_OPEN_CONNS` is the pooled connections of the whole Nexus process, shared by
 * its API threads (ADR 0047): a real Nexus with two API threads on a private PostgreSQL cluster,
 * its reads held up by a table lock so that its pools fill, never has more pooled connections
 * in `pg_stat_activity` than the setting (plus one listening connection per thread). Secret reads
 * of one thread share one statement (the read cache, ADR 0046), so they hold one connection per
 * thread; metadata reads (answered by the main thread, one statement each) fill the main
 * thread's share.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startTestCluster, type TestCluster } from '@spike-ts/store/testing';
import { Drill } from '../drills/drill-kit.ts';

const BUDGET = 4;
const THREADS = 2;
const READS = 40;

let cluster: TestCluster;
let database: string;
let drill: Drill;

before(async () => {
  cluster = await startTestCluster();
  database = await cluster.createDatabase();
  drill = await Drill.start({
    nexusEnv: {
      SPIKE_NEXUS_BACKEND_STORE: 'postgres',
      // The DDL role: Nexus applies the schema itself at start (with its own, closed, connection).
      SPIKE_NEXUS_POSTGRES_URL: `postgresql://${cluster.ddlRole.name}@/${database}?host=${cluster.socketDir}`,
      SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: cluster.ddlRole.passwordFile,
      SPIKE_NEXUS_API_THREADS: String(THREADS),
      SPIKE_NEXUS_DB_MAX_OPEN_CONNS: String(BUDGET),
      SPIKE_NEXUS_DB_MAX_IDLE_CONNS: '0',
      SPIKE_NEXUS_DB_OPERATION_TIMEOUT: '2m',
    },
  });
});
after(async () => {
  await drill?.close();
  await cluster?.stop();
});

/** The backends of this database by application name. */
async function backends(): Promise<Record<string, number>> {
  const r = await cluster.superuser<{ name: string; n: string }>(
    'SELECT application_name AS name, count(*) AS n FROM pg_stat_activity WHERE datname = $1 GROUP BY 1',
    [database],
  );
  return Object.fromEntries(r.rows.map((row) => [row.name, Number(row.n)]));
}

describe('Nexus on PostgreSQL with API threads', () => {
  it('keeps its pooled connections within SPIKE_NEXUS_DB_MAX_OPEN_CONNS for the whole process', async () => {
    const pilot = await drill.mtlsAs('pilot', 'nexus');
    const post = async (path: string, body: unknown): Promise<number> => {
      const res = await pilot.request(`${drill.stack.nexusUrl}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return res.status;
    };
    assert.equal(await post('/v1/store/secrets', { path: 'pool/app', values: { v: '1' } }), 200);

    // Hold every read of a secret: the metadata reads then keep the main thread's pool full, the
    // secret reads one connection of each thread that got some.
    const locker = new pg.Client({ host: cluster.socketDir, port: cluster.port, user: 'postgres', database });
    await locker.connect();
    let reads: Promise<number[]> | undefined;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE spike.secrets IN ACCESS EXCLUSIVE MODE');
      // One new connection per request (no keep-alive): the kernel spreads them over both threads.
      reads = Promise.all(
        Array.from({ length: READS }, (_, i) =>
          i % 2 === 0
            ? post('/v1/store/secrets?action=get', { path: 'pool/app' })
            : post('/v1/store/secrets/metadata?action=get', { path: 'pool/app' }),
        ),
      );
      let most = 0;
      // Until the main thread's share is in use, then a while longer to see that no thread opens
      // more (the requests give up after 10 s, so the lock is held for less).
      const mainShare = BUDGET - Math.floor(BUDGET / THREADS) * (THREADS - 1);
      for (let seen = 0, tries = 0; seen < 30 && tries < 120; tries++) {
        const now = (await backends())['spike-nexus'] ?? 0;
        most = Math.max(most, now);
        if (most >= mainShare) seen++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(most <= BUDGET, `pooled connections ${String(most)} > ${String(BUDGET)}`);
      }
      assert.ok(most >= mainShare, `pooled connections in use: ${String(most)}`);
      const all = await backends();
      assert.equal(all['spike-nexus-listen'], THREADS, JSON.stringify(all));
    } finally {
      await locker.query('COMMIT').catch(() => undefined);
      await locker.end();
    }
    assert.deepEqual(
      await reads,
      Array.from({ length: READS }, () => 200),
    );
  });
});
