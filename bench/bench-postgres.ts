/**
 * The PostgreSQL side of `npm run bench:nexus -- --backend postgres [--replicas N]`: a private
 * cluster from the store's test harness made durable again (`fsync`, `full_page_writes` on, the
 * server's default `shared_buffers`), a database prepared as an operator would (schema by the DDL
 * role, the runtime role granted exactly the runtime grants), the Nexus settings for it, the
 * extra Nexus replicas, and the CPU time of the database server's processes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { preparedDatabase, startTestCluster, type TestCluster } from '@spike-ts/store/testing';
import { BIN, waitFor, type ClientProc, type Stack } from '../scripts/stack.ts';

export interface BenchDatabase {
  readonly cluster: TestCluster;
  /** Nexus settings for the runtime role on the benchmark database. */
  readonly nexusEnv: Record<string, string>;
  /** The server's version string. */
  readonly version: string;
  /** CPU seconds (user + system) of the server and every backend process so far (exited ones too). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Fields after the command name of /proc/<pid>/stat (the name is in parentheses, may hold spaces). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds of the PostgreSQL server: the postmaster's own and its reaped children's
 * (utime, stime, cutime, cstime: backends that exited are in the last two), plus every live
 * backend's own. Monotonic as long as the backends are the postmaster's children.
 */
export function serverCpuSeconds(postmaster: number): number {
  const own = statFields(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const f = statFields(entry);
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone while we looked (then it is in the postmaster's cutime/cstime)
    }
  }
  return ticks / 100;
}

export async function startBenchDatabase(): Promise<BenchDatabase> {
  const cluster = await startTestCluster();
  try {
    // The harness relaxes durability for throw-away test data; a benchmark of durable writes
    // needs it back: every COMMIT waits for its WAL flush (synchronous_commit is on).
    for (const sql of [
      'ALTER SYSTEM SET fsync = on',
      'ALTER SYSTEM SET full_page_writes = on',
      "ALTER SYSTEM SET shared_buffers = '128MB'",
    ]) {
      await cluster.superuser(sql);
    }
    await cluster.restart();
    const settings = await cluster.superuser<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'full_page_writes', 'synchronous_commit')",
    );
    for (const row of settings.rows) {
      if (row.setting !== 'on') throw new Error(`PostgreSQL ${row.name} is ${row.setting}, not on`);
    }
    const version =
      (await cluster.superuser<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ??
      '?';
    const database = await preparedDatabase(cluster);
    const postmaster = (): number =>
      Number(readFileSync(join(cluster.socketDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return {
      cluster,
      version,
      nexusEnv: {
        SPIKE_NEXUS_BACKEND_STORE: 'postgres',
        SPIKE_NEXUS_POSTGRES_URL: `postgresql://${cluster.runtimeRole.name}@/${database}?host=${cluster.socketDir}`,
        SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: cluster.runtimeRole.passwordFile,
        SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'true',
      },
      cpuSeconds: () => serverCpuSeconds(postmaster()),
      stop: () => cluster.stop(),
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/**
 * Starts Nexus replicas 2..N on `ports` (API and health port each) with the stack's Nexus
 * settings, and waits until each is ready (it gets the root key from the keepers itself).
 */
export async function startExtraReplicas(
  stack: Stack,
  ports: readonly { api: number; health: number }[],
): Promise<ClientProc[]> {
  const procs = ports.map((p, k) =>
    stack.startClient(`nexus-${String(k + 2)}`, BIN.nexus, [], 'nexus', {
      SPIKE_NEXUS_TLS_PORT: `:${String(p.api)}`,
      SPIKE_NEXUS_HEALTH_ADDR: `127.0.0.1:${String(p.health)}`,
      SPIKE_NEXUS_DATA_DIR: join(stack.opts.dir, `nexus-${String(k + 2)}`),
      SPIKE_NEXUS_AUDIT_LOG: join(stack.opts.logDir, `audit-${String(k + 2)}.jsonl`),
      ...stack.opts.nexusEnv,
    }),
  );
  for (const [k, p] of ports.entries()) {
    await waitFor(`Nexus replica ${String(k + 2)} to be ready`, 60_000, async () => {
      const proc = procs[k];
      if (proc?.child.exitCode !== null) throw new Error(`Nexus replica ${String(k + 2)} exited`);
      return (await readyStatus(p.health)) === 200;
    });
  }
  return procs;
}

async function readyStatus(port: number): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${String(port)}/readyz`);
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}
