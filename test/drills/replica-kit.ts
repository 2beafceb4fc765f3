/**
 * Shared pieces of the PostgreSQL replica drills: a private PostgreSQL cluster with a database
 * prepared as an operator would (migrated by the DDL role, the runtime role granted exactly the
 * runtime grants), a bootstrapped drill stack whose Nexus (replica 0) runs on it as the runtime
 * role, more Nexus replicas on the same database (real processes with their own ports, health
 * listeners and audit files, getting the root key from the keepers themselves), SDK clients
 * pinned to one replica, and the mixed load (`mixed-load.ts`) run as client processes.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createSpikeClient, isSpikeError, type SpikeClient } from '@spike-ts/sdk';
import { preparedDatabase, startTestCluster, type TestCluster } from '@spike-ts/store/testing';
import { BIN, freePorts, type ClientProc, type IdentityName } from '../../scripts/stack.ts';
import { Drill, waitFor } from './drill-kit.ts';

/** The Nexus settings for the runtime role on `database`, over the cluster's unix socket. */
export function postgresEnv(cluster: TestCluster, database: string): Record<string, string> {
  return {
    SPIKE_NEXUS_BACKEND_STORE: 'postgres',
    SPIKE_NEXUS_POSTGRES_URL: `postgresql://${cluster.runtimeRole.name}@/${database}?host=${cluster.socketDir}`,
    SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: cluster.runtimeRole.passwordFile,
    SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'true',
  };
}

/** `/readyz` of a health listener: its status and body, or undefined when nothing answers. */
export function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: {} });
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

interface ReplicaPorts {
  readonly api: number;
  readonly health: number;
}

/** N Nexus replicas on one PostgreSQL database, the keepers and the dev identity issuer. */
export class ReplicaSet {
  readonly drill: Drill;
  readonly cluster: TestCluster;
  readonly database: string;
  readonly ports: readonly ReplicaPorts[];
  /** Replicas 1.. run as tracked client processes of the stack; replica 0 is the stack's Nexus. */
  private readonly procs = new Map<number, ClientProc>();
  private readonly clients: SpikeClient[] = [];

  private constructor(drill: Drill, cluster: TestCluster, database: string, ports: ReplicaPorts[]) {
    this.drill = drill;
    this.cluster = cluster;
    this.database = database;
    this.ports = ports;
  }

  /** A cluster, a prepared database, the bootstrapped stack on it, and `count` replicas ready. */
  static async start(count = 3, nexusEnv: Record<string, string> = {}): Promise<ReplicaSet> {
    const cluster = await startTestCluster();
    let drill: Drill | undefined;
    try {
      const database = await preparedDatabase(cluster);
      drill = await Drill.start({ nexusEnv: { ...postgresEnv(cluster, database), ...nexusEnv } });
      const more = await freePorts(2 * (count - 1));
      const ports: ReplicaPorts[] = [
        { api: drill.stack.opts.nexusPort, health: drill.stack.opts.healthPort },
      ];
      for (let i = 0; i < count - 1; i++) ports.push({ api: more[2 * i]!, health: more[2 * i + 1]! });
      const set = new ReplicaSet(drill, cluster, database, ports);
      for (let i = 1; i < count; i++) set.start(i);
      for (let i = 1; i < count; i++) await set.waitReady(i);
      return set;
    } catch (err) {
      await drill?.close();
      await cluster.stop();
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.close();
    await this.drill.close();
    await this.cluster.stop();
  }

  get size(): number {
    return this.ports.length;
  }

  url(i: number): string {
    return `https://localhost:${String(this.ports[i]!.api)}`;
  }

  /** Every replica's URL, starting with replica `first` (a client's failover order). */
  urls(first = 0): string {
    return this.ports.map((_, k) => this.url((first + k) % this.size)).join(',');
  }

  logName(i: number): string {
    return i === 0 ? 'nexus' : `nexus-${String(i)}`;
  }

  log(i: number): string {
    return this.drill.stack.readLog(this.logName(i));
  }

  /** Starts replica `i` (> 0) without waiting; replica 0 through the stack. */
  start(i: number): void {
    assert.ok(i > 0 && i < this.size);
    const { stack } = this.drill;
    const proc = stack.startClient(this.logName(i), BIN.nexus, [], 'nexus', {
      SPIKE_NEXUS_TLS_PORT: `:${String(this.ports[i]!.api)}`,
      SPIKE_NEXUS_HEALTH_ADDR: `127.0.0.1:${String(this.ports[i]!.health)}`,
      SPIKE_NEXUS_DATA_DIR: join(stack.opts.dir, `nexus-${String(i)}`),
      SPIKE_NEXUS_AUDIT_LOG: join(stack.opts.logDir, `audit-${String(i)}.jsonl`),
      SPIKE_SYSTEM_LOG_LEVEL: 'INFO',
      ...stack.opts.nexusEnv,
    });
    this.procs.set(i, proc);
  }

  async restart(i: number): Promise<void> {
    if (i === 0) await this.drill.startNexus();
    else this.start(i);
  }

  /** `kill -9` replica `i`: no shutdown code runs. */
  async kill(i: number): Promise<void> {
    if (i === 0) {
      await this.drill.stack.killNexus();
      return;
    }
    await this.procs.get(i)?.stop('SIGKILL');
    this.procs.delete(i);
  }

  /** Stops (`SIGSTOP`) or continues (`SIGCONT`) replica `i` (> 0): a process that sleeps. */
  signal(i: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
    assert.ok(i > 0 && i < this.size);
    const child = this.procs.get(i)?.child;
    assert.ok(child !== undefined && child.exitCode === null, `replica ${String(i)} is running`);
    child.kill(signal);
  }

  /** Whether replica `i`'s process is alive (it did not crash). */
  running(i: number): boolean {
    if (i === 0) return this.drill.stack.isRunning('nexus');
    const p = this.procs.get(i);
    return p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
  }

  async state(i: number): Promise<'ready' | 'not-ready' | 'down'> {
    const r = await readyz(this.ports[i]!.health);
    return r === undefined ? 'down' : r.status === 200 ? 'ready' : 'not-ready';
  }

  async waitReady(i: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`replica ${String(i)} to be ready`, timeoutMs, async () => {
      if (i > 0 && !this.running(i)) {
        throw new Error(`replica ${String(i)} exited:\n${this.log(i).slice(-3000)}`);
      }
      return (await this.state(i)) === 'ready';
    });
  }

  /** An SDK client as the Pilot superuser that talks to replica `i` only. */
  pilotOn(i: number): Promise<SpikeClient> {
    return this.clientOn('pilot', i);
  }

  /** An SDK client holding `identity`'s SVID that talks to replica `i` only. */
  async clientOn(identity: IdentityName, i: number): Promise<SpikeClient> {
    const client = await createSpikeClient({
      source: await this.drill.source(identity),
      nexusUrl: this.url(i),
      env: {},
      timeoutMs: 10_000,
    });
    this.clients.push(client);
    return client;
  }

  /** Starts a mixed load client (`mixed-load.ts`) whose first URL is replica `first`. */
  startLoad(name: string, first: number, workers = 3): MixedLoad {
    return new MixedLoad(
      this.drill.stack.startClient(
        name,
        join(import.meta.dirname, 'mixed-load.ts'),
        [name, String(workers)],
        'pilot',
        {
          SPIKE_NEXUS_API_URL: this.urls(first),
        },
      ),
    );
  }

  /** Pid of the PostgreSQL server (the postmaster), from its pid file. */
  postmasterPid(): number {
    const file = join(this.cluster.socketDir, 'data', 'postmaster.pid');
    assert.ok(existsSync(file), 'the PostgreSQL server is not running');
    return Number(readFileSync(file, 'utf8').split('\n')[0]);
  }
}

/** What one client of the mixed load saw. */
export interface LoadOutcome {
  /** Fresh paths written once: path -> acknowledged value. */
  readonly fresh: Map<string, string>;
  /**
   * Own paths: path -> the values that may be current: the last acknowledged one and any tried
   * after it ('' when none was acknowledged: the path may not exist).
   */
  readonly own: Map<string, Set<string>>;
  /** Failed requests as `<status> <code>`. */
  readonly errors: string[];
  readonly stale: string[];
}

export class MixedLoad {
  readonly proc: ClientProc;

  constructor(proc: ClientProc) {
    this.proc = proc;
  }

  outcome(): LoadOutcome {
    const fresh = new Map<string, string>();
    const own = new Map<string, Set<string>>();
    const errors: string[] = [];
    const stale: string[] = [];
    for (const line of this.proc.stdout().split('\n')) {
      const [kind, a, b] = line.split(' ');
      if (kind === 'err' && a !== undefined && b !== undefined) errors.push(`${a} ${b}`);
      else if (kind === 'stale' && a !== undefined) stale.push(a);
      else if (a === undefined || b === undefined) continue;
      else if (kind === 'try') {
        const set = own.get(a) ?? new Set<string>();
        set.add(b);
        own.set(a, set);
      } else if (kind === 'ack' && a.includes('/own/')) own.set(a, new Set([b]));
      else if (kind === 'ack') fresh.set(a, b);
    }
    return { fresh, own, errors, stale };
  }

  /** Acknowledged writes so far (both kinds). */
  acks(): number {
    return this.proc
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('ack ')).length;
  }

  /** Waits until `count` writes in total were acknowledged (the load must keep running). */
  async waitAcks(count: number, timeoutMs = 90_000): Promise<void> {
    await waitFor(`${String(count)} acknowledged writes of ${this.proc.child.pid ?? ''}`, timeoutMs, () => {
      if (this.proc.child.exitCode !== null) throw new Error(`a load client exited:\n${this.proc.stderr()}`);
      return this.acks() >= count;
    });
  }

  /** SIGTERM: in-flight requests finish, then the process exits 0. */
  async stop(): Promise<void> {
    await this.proc.stop('SIGTERM');
    assert.equal(await this.proc.exited, 0, `a load client failed:\n${this.proc.stderr()}`);
  }
}

/**
 * Reads everything `outcome` says must be there through `client` (16 at a time) and returns the
 * problems found: acknowledged writes missing or with another value.
 */
export async function missingWrites(client: SpikeClient, outcome: LoadOutcome): Promise<string[]> {
  const checks: [string, (v: string | undefined) => boolean][] = [
    ...[...outcome.fresh].map(([p, v]): [string, (got: string | undefined) => boolean] => [
      p,
      (got) => got === v,
    ]),
    ...[...outcome.own].map(([p, vs]): [string, (got: string | undefined) => boolean] => [
      p,
      (got) => got !== undefined && vs.has(got),
    ]),
  ];
  const problems: string[] = [];
  for (let i = 0; i < checks.length; i += 16) {
    await Promise.all(
      checks.slice(i, i + 16).map(async ([path, ok]) => {
        try {
          const got = (await client.getSecret(path))['value'];
          if (!ok(got)) problems.push(`${path}: another value`);
        } catch (err) {
          if (isSpikeError(err) && err.code === 'api_not_found' && ok('')) return;
          problems.push(`${path}: ${isSpikeError(err) ? err.code : String(err)}`);
        }
      }),
    );
  }
  return problems;
}
