/**
 * Runs our components as real processes on a `SpireHarness`: keepers, Nexus (SQLite), one-shot
 * bootstrap and `spike` CLI runs, SDK calls and load clients. Each runs from its role's own link of
 * the Node.js binary (`spawn(await spire.nodeFor(role), [bin], { env })`), so the SPIRE agent's
 * unix attestor gives it that role's SVID; nothing else tells them apart. Each role has a private
 * HOME (and data dir) under the harness's temp dir.
 */
import http from 'node:http';
import { join } from 'node:path';
import { launch, run, tail, waitUntil, type ManagedChild, type RunResult } from './child-process.ts';
import { REPO_ROOT } from './spire-binaries.ts';
import type { SpireHarness } from './spire-harness.ts';

export const BIN = {
  keeper: join(REPO_ROOT, 'packages', 'keeper', 'bin', 'spike-keeper.js'),
  nexus: join(REPO_ROOT, 'packages', 'nexus', 'bin', 'spike-nexus.js'),
  bootstrap: join(REPO_ROOT, 'packages', 'bootstrap', 'bin', 'spike-bootstrap.js'),
  spike: join(REPO_ROOT, 'packages', 'cli', 'bin', 'spike.js'),
} as const;

export const SCRIPT = {
  fetchSvid: join(import.meta.dirname, 'fetch-svid.ts'),
  sdkRunner: join(import.meta.dirname, 'sdk-runner.ts'),
  loadClient: join(import.meta.dirname, 'load-client.ts'),
} as const;

export type SdkOutcome =
  { ok: true; value: unknown } | { ok: false; code: string; status: number; message: string };

interface Listening {
  child: ManagedChild;
  port: number;
}

/** Waits for `listening on <host>:<port>` in a child's output; fails fast if the child exits. */
async function listeningPort(child: ManagedChild, pattern = /listening on \S*:(\d+)/): Promise<number> {
  return waitUntil(`${child.name} to listen`, 40_000, () => {
    const m = pattern.exec(child.output());
    if (m !== null) return Number(m[1]);
    if (!child.running()) throw new Error(`${child.name} exited before listening:\n${tail(child.output())}`);
    return undefined;
  });
}

export class SpikeOnSpire {
  readonly spire: SpireHarness;
  readonly keepers: Listening[] = [];
  nexus: Listening | undefined;
  healthPort = 0;
  readonly #homes = new Map<string, string>();
  readonly #loads = new Set<ManagedChild>();

  constructor(spire: SpireHarness) {
    this.spire = spire;
  }

  get nexusUrl(): string {
    if (this.nexus === undefined) throw new Error('Nexus has not been started');
    return `https://127.0.0.1:${String(this.nexus.port)}`;
  }

  get keeperPeers(): string {
    return this.keepers.map((k) => `https://127.0.0.1:${String(k.port)}`).join(',');
  }

  /** The role's private HOME (created on first use). */
  async home(role: string): Promise<string> {
    let dir = this.#homes.get(role);
    if (dir === undefined) {
      dir = await this.spire.privateDir(role);
      this.#homes.set(role, dir);
    }
    return dir;
  }

  /** A clean environment for a process of `role`: nothing inherited but PATH. */
  async env(role: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: await this.home(role),
      SPIFFE_ENDPOINT_SOCKET: this.spire.endpoint,
      SPIKE_SPIFFE_SOURCE_TIMEOUT: '30s',
      SPIKE_NEXUS_SHAMIR_SHARES: '3',
      SPIKE_NEXUS_SHAMIR_THRESHOLD: '2',
    };
    if (this.keepers.length > 0) env.SPIKE_NEXUS_KEEPER_PEERS = this.keeperPeers;
    if (this.nexus !== undefined) env.SPIKE_NEXUS_API_URL = this.nexusUrl;
    return { ...env, ...extra };
  }

  /** Starts a Node process from `role`'s Node.js link. */
  async launchNode(
    role: string,
    file: string,
    args: readonly string[] = [],
    opts: { keepStdin?: boolean; env?: Record<string, string>; name?: string } = {},
  ): Promise<ManagedChild> {
    this.spire.role(role);
    return launch(await this.spire.nodeFor(role), [file, ...args], {
      name: opts.name ?? `${role}:${file.split('/').at(-1) ?? file}`,
      env: await this.env(role, opts.env),
      ...(opts.keepStdin === true ? { keepStdin: true } : {}),
    });
  }

  /**
   * Runs a Node process to completion from `role`'s Node.js link, or from the link named `exe`
   * (with `role`'s environment), e.g. one that has no registration entry.
   */
  async runNode(
    role: string,
    file: string,
    args: readonly string[],
    opts: { env?: Record<string, string>; input?: string | Buffer; exe?: string } = {},
  ): Promise<RunResult> {
    this.spire.role(role);
    return run(await this.spire.nodeFor(opts.exe ?? role), [file, ...args], {
      name: `${role}:${file.split('/').at(-1) ?? file}`,
      env: await this.env(role, opts.env),
      input: opts.input ?? '',
    });
  }

  /** Starts keeper `index` (0-based); on a restart it reuses the port it had. */
  async startKeeper(index: number): Promise<void> {
    const port = this.keepers[index]?.port ?? 0;
    const child = await this.launchNode('keeper', BIN.keeper, [], {
      name: `keeper-${String(index + 1)}`,
      env: { SPIKE_KEEPER_TLS_PORT: `127.0.0.1:${String(port)}` },
    });
    this.keepers[index] = { child, port: await listeningPort(child) };
  }

  async startKeepers(count = 3): Promise<void> {
    for (let i = 0; i < count; i++) await this.startKeeper(i);
  }

  /** Starts Nexus on SQLite in its HOME; a restart reuses the TLS and health ports. */
  async startNexus(extra: Record<string, string> = {}): Promise<void> {
    const home = await this.home('nexus');
    const child = await this.launchNode('nexus', BIN.nexus, [], {
      name: 'nexus',
      env: {
        SPIKE_NEXUS_TLS_PORT: `127.0.0.1:${String(this.nexus?.port ?? 0)}`,
        SPIKE_NEXUS_HEALTH_ADDR: `127.0.0.1:${String(this.healthPort)}`,
        SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
        SPIKE_NEXUS_DATA_DIR: home,
        SPIKE_NEXUS_AUDIT_LOG: join(home, 'audit.jsonl'),
        SPIKE_SYSTEM_LOG_LEVEL: 'info',
        ...extra,
      },
    });
    const port = await listeningPort(child);
    this.healthPort = await listeningPort(child, /\(health on \S*:(\d+)\)/);
    this.nexus = { child, port };
  }

  async nexusReady(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.get(
        { host: '127.0.0.1', port: this.healthPort, path: '/readyz', timeout: 2000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
  }

  async waitNexusReady(timeoutMs = 30_000): Promise<void> {
    try {
      await waitUntil(
        'Nexus to become ready',
        timeoutMs,
        async () => ((await this.nexusReady()) ? true : undefined),
        200,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.logs()}`, { cause: err });
    }
  }

  runBootstrap(args: readonly string[] = ['-init'], extra: Record<string, string> = {}): Promise<RunResult> {
    return this.runNode('bootstrap', BIN.bootstrap, args, {
      env: {
        SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '5',
        SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL: '200ms',
        SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: '10s',
        SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT: '60s',
        ...extra,
      },
    });
  }

  /** Runs the `spike` CLI as `role` (pilot, pilot-recover, pilot-restore, or any other role). */
  async spike(role: string, args: readonly string[], input?: string | Buffer): Promise<RunResult> {
    const recovery: Record<string, string> =
      role === 'pilot-recover' ? { SPIKE_PILOT_RECOVERY_DIR: await this.home(role) } : {};
    return this.runNode(role, BIN.spike, args, { env: recovery, ...(input === undefined ? {} : { input }) });
  }

  /** SDK calls in one child process as `role`; one outcome per call. */
  async sdk(role: string, calls: ReadonlyArray<{ method: string; args: unknown[] }>): Promise<SdkOutcome[]> {
    const r = await this.runNode(role, SCRIPT.sdkRunner, [JSON.stringify(calls)]);
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    const outcomes = lines.map((l) => JSON.parse(l) as SdkOutcome);
    if (outcomes.length !== calls.length) {
      throw new Error(`sdk-runner as ${role} exited ${String(r.code)}: ${r.stdout}${r.stderr}`);
    }
    return outcomes;
  }

  /** Starts a load client as `role` reading `path`; stop it by ending its stdin. */
  async startLoad(
    role: string,
    path: string,
    expected: Record<string, string>,
    workers = 2,
  ): Promise<ManagedChild> {
    const child = await this.launchNode(
      role,
      SCRIPT.loadClient,
      [path, JSON.stringify(expected), String(workers)],
      {
        keepStdin: true,
        name: `load:${role}`,
      },
    );
    this.#loads.add(child);
    return child;
  }

  /** Recent output of Nexus and the keepers, for failure messages. */
  logs(): string {
    const parts = [this.nexus, ...this.keepers].filter((p): p is Listening => p !== undefined);
    return parts.map((p) => `--- ${p.child.name} ---\n${tail(p.child.output(), 20)}`).join('\n');
  }

  /** Kills every process this stack started. */
  async close(): Promise<void> {
    const all = [
      ...this.#loads,
      ...[this.nexus, ...this.keepers].filter((p) => p !== undefined).map((p) => p.child),
    ];
    await Promise.all(all.map((c) => c.stop('SIGKILL')));
  }
}
