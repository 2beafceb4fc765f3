/**
 * Durable secret writes straight into the PostgreSQL store, without Nexus's TLS, HTTP, JSON and
 * policy work in the way: `node bench/pg-store-writes.ts [--callers 64] [--seconds 5] [--rounds 3]
 * [--paths 10000] [--pool 10]`. A private cluster made durable like the Nexus benchmark's (`fsync`,
 * `full_page_writes` on, `synchronous_commit` on), the runtime role with exactly its grants, one
 * store, `callers` concurrent loops each putting a new 1 KiB version of a random one of `paths`
 * secrets (10 versions kept), as Nexus's put route does.
 *
 * Printed per round: writes/s, this process's CPU per write (the store, the driver, AES-GCM), the
 * database server's CPU per write, and what the database's sessions were doing, sampled from
 * `pg_stat_activity` every 20 ms: running, waiting for the client (`ClientRead`: the next message
 * of a transaction, i.e. a round trip), waiting for the WAL flush (`WALSync`/`WALWrite`/`WalSync`
 * at commit), waiting for a lock (an advisory lock: another writer of the same secret), or idle.
 * It is for finding where a write's time goes, not a substitute for `npm run bench:nexus`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { putSecretVersion, randomBytes } from '@spike-ts/core';
import { openPostgresStore } from '@spike-ts/store';
import { preparedDatabase, socketConnection, startTestCluster } from '@spike-ts/store/testing';
import { serverCpuSeconds } from './bench-postgres.ts';

const { values: flags } = parseArgs({
  options: {
    callers: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    paths: { type: 'string', default: '10000' },
    pool: { type: 'string', default: '10' },
    batch: { type: 'string' },
    'in-flight': { type: 'string' },
  },
});
const callers = Number(flags.callers);
const seconds = Number(flags.seconds);
const rounds = Number(flags.rounds);
const paths = Number(flags.paths);
const poolSize = Number(flags.pool);

const cluster = await startTestCluster();
try {
  for (const sql of [
    'ALTER SYSTEM SET fsync = on',
    'ALTER SYSTEM SET full_page_writes = on',
    "ALTER SYSTEM SET shared_buffers = '128MB'",
  ]) {
    await cluster.superuser(sql);
  }
  await cluster.restart();
  const database = await preparedDatabase(cluster);
  const postmaster = Number(
    readFileSync(join(cluster.socketDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0],
  );
  const store = await openPostgresStore({
    connection: socketConnection(cluster, cluster.runtimeRole, database),
    pool: { maxConnections: poolSize },
    schema: 'check',
    writeBatch: {
      ...(flags.batch === undefined ? {} : { maxBatch: Number(flags.batch) }),
      ...(flags['in-flight'] === undefined ? {} : { maxInFlight: Number(flags['in-flight']) }),
    },
  });
  await store.unlock(randomBytes(32));
  const value = { value: 'x'.repeat(1024) };
  const put = (path: string): Promise<void> =>
    store.updateSecret(path, (current) => ({
      next: putSecretVersion(current, path, value, Date.now(), 10),
      result: undefined,
    }));
  const pathOf = (i: number): string => `bench/bulk/${String(i)}`;

  // Every secret exists with a few versions, as after the Nexus benchmark's seeding.
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < paths) {
        const i = next++;
        await put(pathOf(i));
        await put(pathOf(i));
      }
    }),
  );

  const sampler = new pg.Client({ host: cluster.socketDir, port: cluster.port, user: 'postgres', database });
  await sampler.connect();
  await sampler.query("SET application_name = 'sampler'");

  process.stdout.write(
    `PostgreSQL store writes: ${String(callers)} callers, ${String(seconds)} s rounds, pool ${String(poolSize)}, ${String(paths)} secrets, batches ${flags.batch ?? 'default'} × ${flags['in-flight'] ?? 'default'}\n`,
  );
  for (let round = 1; round <= rounds; round++) {
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const states = new Map<string, number>();
    let samples = 0;
    let stop = false;
    let writes = 0;
    const cpu0 = process.cpuUsage();
    const db0 = serverCpuSeconds(postmaster);
    const t0 = performance.now();
    const sampling = (async () => {
      while (!stop) {
        const r = await sampler.query<{ state: string | null; wait_event: string | null }>(
          `SELECT state, wait_event FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'spike-nexus'`,
        );
        samples += 1;
        for (const row of r.rows) {
          const key =
            row.state === 'idle'
              ? 'idle'
              : row.wait_event === null
                ? 'running'
                : row.wait_event === 'ClientRead'
                  ? 'round trip (ClientRead)'
                  : row.wait_event;
          states.set(key, (states.get(key) ?? 0) + 1);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() - t0 < seconds * 1000) {
          await put(pathOf(Math.floor(Math.random() * paths)));
          writes += 1;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    stop = true;
    await sampling;
    const cpu = process.cpuUsage(cpu0);
    const dbCpu = serverCpuSeconds(postmaster) - db0;
    const perWrite = (s: number): string => `${String(Math.round((s / writes) * 1e6))} µs`;
    process.stdout.write(
      `round ${String(round)} (load ${load}): ${String(Math.round(writes / elapsed))} writes/s; ` +
        `CPU per write: store process ${perWrite((cpu.user + cpu.system) / 1e6)}, database ${perWrite(dbCpu)}\n`,
    );
    const total = [...states.values()].reduce((a, b) => a + b, 0);
    const shares = [...states.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${String(Math.round((100 * n) / total))}%`)
      .join(', ');
    process.stdout.write(
      `  sessions (${String((total / Math.max(1, samples)).toFixed(1))} on average): ${shares}\n`,
    );
  }
  await sampler.end();
  await store.close();
} finally {
  await cluster.stop();
}
