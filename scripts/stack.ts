/**
 * Starts and stops a whole local SPIKE stack as real processes: the dev identity issuer, N keepers,
 * Nexus, and one-shot runs of bootstrap and the `spike` CLI. Used by the demo (`npm run demo`),
 * the failure drills under `test/`, and the benchmarks. Every process gets its identity from the
 * dev issuer's Workload API socket for its role, exactly as it would from a SPIRE agent.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './free-ports.ts';

const ROOT = join(import.meta.dirname, '..');

export const BIN = {
  devIdentity: join(ROOT, 'packages/dev-identity/bin/spike-dev-identity.js'),
  keeper: join(ROOT, 'packages/keeper/bin/spike-keeper.js'),
  nexus: join(ROOT, 'packages/nexus/bin/spike-nexus.js'),
  bootstrap: join(ROOT, 'packages/bootstrap/bin/spike-bootstrap.js'),
  spike: join(ROOT, 'packages/cli/bin/spike.js'),
} as const;

/** The self-contained executable of each launcher in `BIN` (`npm run build:exe`). */
const EXE_NAME: Record<string, string> = {
  [BIN.devIdentity]: 'spike-dev-identity',
  [BIN.keeper]: 'spike-keeper',
  [BIN.nexus]: 'spike-nexus',
  [BIN.bootstrap]: 'spike-bootstrap',
  [BIN.spike]: 'spike',
};

/** Identity socket names served by the dev issuer's default identity set. */
export type IdentityName =
  'nexus' | 'keeper' | 'bootstrap' | 'pilot' | 'pilot-recover' | 'pilot-restore' | 'lite' | 'demo';

/** SPIKE's two demo policies (name, permission). */
export const DEMO_POLICIES = [
  ['workload-can-read', 'read'],
  ['workload-can-write', 'write'],
] as const;

export interface StackOptions {
  /** State root: dev issuer state, Nexus data, logs. */
  dir: string;
  /** Short directory for the Workload API sockets (unix socket paths are limited to 107 bytes). */
  socketDir: string;
  keeperPorts?: number[];
  nexusPort?: number;
  healthPort?: number;
  backend?: 'sqlite' | 'memory';
  shares?: number;
  threshold?: number;
  /** Extra environment for Nexus (e.g. short keeper intervals in tests). */
  nexusEnv?: Record<string, string>;
  /** Extra environment for keepers. */
  keeperEnv?: Record<string, string>;
  /** Extra environment for every component and one-shot run (applied over the defaults). */
  env?: Record<string, string>;
  /** X.509-SVID lifetime for the dev issuer (Go duration). */
  svidTtl?: string;
  /** Where child output goes; default `<dir>/logs`. */
  logDir?: string;
  /**
   * Run the self-contained executables instead of the Node.js launchers: each component is
   * started by its name (`spike-nexus`, …), looked up in the `PATH` of its environment (set it
   * with `env`).
   */
  executables?: boolean;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<number | null>;
  log: WriteStream;
}

/** A long-running client process started with `startClient` (e.g. a write load). */
export interface ClientProc {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout so far. */
  stdout(): string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM; SIGKILL after 10 s) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Options for `Stack.withFreePorts`: like `StackOptions`, with the ports chosen for you. */
export type FreePortStackOptions = Omit<StackOptions, 'keeperPorts' | 'nexusPort' | 'healthPort'> & {
  /** Number of keepers (default 3). */
  keepers?: number;
};

export class Stack {
  readonly opts: Required<Omit<StackOptions, 'nexusEnv' | 'logDir' | 'executables'>> & {
    nexusEnv: Record<string, string>;
    logDir: string;
  };
  private issuer: Proc | undefined;
  private readonly keepers = new Map<number, Proc>();
  private nexus: Proc | undefined;
  private readonly clients = new Set<ClientProc>();
  private readonly executables: boolean;

  /** A stack on free 127.0.0.1 ports (for tests: never collides with the demo's fixed ports). */
  static async withFreePorts(options: FreePortStackOptions): Promise<Stack> {
    const { keepers = 3, ...rest } = options;
    const ports = await freePorts(keepers + 2);
    return new Stack({
      ...rest,
      keeperPorts: ports.slice(0, keepers),
      nexusPort: ports[keepers] ?? 0,
      healthPort: ports[keepers + 1] ?? 0,
    });
  }

  constructor(options: StackOptions) {
    const keeperPorts = options.keeperPorts ?? [8443, 8543, 8643];
    this.opts = {
      dir: options.dir,
      socketDir: options.socketDir,
      keeperPorts,
      nexusPort: options.nexusPort ?? 8553,
      healthPort: options.healthPort ?? 8554,
      backend: options.backend ?? 'sqlite',
      shares: options.shares ?? keeperPorts.length,
      threshold: options.threshold ?? 2,
      nexusEnv: options.nexusEnv ?? {},
      keeperEnv: options.keeperEnv ?? {},
      env: options.env ?? {},
      svidTtl: options.svidTtl ?? '1h',
      logDir: options.logDir ?? join(options.dir, 'logs'),
    };
    this.executables = options.executables ?? false;
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    mkdirSync(this.opts.logDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
  }

  get nexusUrl(): string {
    return `https://localhost:${String(this.opts.nexusPort)}`;
  }

  get keeperPeers(): string {
    return this.opts.keeperPorts.map((p) => `https://localhost:${String(p)}`).join(',');
  }

  /** The components' HOME (`options.env.HOME` overrides it). */
  get home(): string {
    return join(this.opts.dir, 'home');
  }

  get dataDir(): string {
    return join(this.opts.dir, 'nexus');
  }

  /** Where `spike operator recover` writes the recovery files (`$SPIKE_PILOT_RECOVERY_DIR/recover`). */
  get recoveryDir(): string {
    return join(this.opts.dir, 'recovery', 'recover');
  }

  /** URL of keeper #index (0-based), as listed in SPIKE_NEXUS_KEEPER_PEERS. */
  keeperUrl(index: number): string {
    const port = this.opts.keeperPorts[index];
    if (port === undefined) throw new Error(`no keeper #${String(index)}`);
    return `https://localhost:${String(port)}`;
  }

  /** Path of a component's log file (`nexus`, `keeper-1`, `dev-identity`, or a client's name). */
  logFile(name: string): string {
    return join(this.opts.logDir, `${name}.log`);
  }

  /** A component's log so far ('' when it has none yet). Logs are appended across restarts. */
  readLog(name: string): string {
    try {
      return readFileSync(this.logFile(name), 'utf8');
    } catch {
      return '';
    }
  }

  endpoint(name: IdentityName): string {
    return `unix://${join(this.opts.socketDir, `${name}.sock`)}`;
  }

  /** Environment shared by every component (no inherited SPIKE_* variables leak in). */
  baseEnv(identity: IdentityName): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('SPIKE_') && k !== 'SPIFFE_ENDPOINT_SOCKET') env[k] = v;
    }
    // A HOME of the stack's own: nothing a component writes under `~` (Nexus without a data
    // directory keeps its audit signing key in ~/.spike/data) reaches the user's home or is
    // shared with other stacks.
    env.HOME = this.home;
    env.SPIFFE_ENDPOINT_SOCKET = this.endpoint(identity);
    env.SPIKE_NEXUS_API_URL = this.nexusUrl;
    env.SPIKE_NEXUS_KEEPER_PEERS = this.keeperPeers;
    env.SPIKE_NEXUS_SHAMIR_SHARES = String(this.opts.shares);
    env.SPIKE_NEXUS_SHAMIR_THRESHOLD = String(this.opts.threshold);
    env.SPIKE_NEXUS_BACKEND_STORE = this.opts.backend;
    env.SPIKE_SPIFFE_SOURCE_TIMEOUT = '20s';
    return { ...env, ...this.opts.env };
  }

  async startIssuer(): Promise<void> {
    this.issuer = this.spawnProc('dev-identity', BIN.devIdentity, [
      '--state-dir',
      join(this.opts.dir, 'identity'),
      '--socket-dir',
      this.opts.socketDir,
      '--svid-ttl',
      this.opts.svidTtl,
    ]);
    const names: IdentityName[] = ['nexus', 'keeper', 'bootstrap', 'pilot', 'pilot-recover', 'pilot-restore'];
    await waitFor('the dev identity issuer sockets', 20_000, () =>
      names.every((n) => existsSync(join(this.opts.socketDir, `${n}.sock`))),
    );
  }

  async startKeeper(index: number): Promise<void> {
    const port = this.opts.keeperPorts[index];
    if (port === undefined) throw new Error(`no keeper #${String(index)}`);
    const env = {
      ...this.baseEnv('keeper'),
      SPIKE_KEEPER_TLS_PORT: `:${String(port)}`,
      ...this.opts.keeperEnv,
    };
    const proc = this.spawnProc(`keeper-${String(index + 1)}`, BIN.keeper, [], env);
    this.keepers.set(index, proc);
    await waitForPort(port, 20_000, proc);
  }

  async startKeepers(): Promise<void> {
    await Promise.all(this.opts.keeperPorts.map((_, i) => this.startKeeper(i)));
  }

  async startNexus(): Promise<void> {
    const env = {
      ...this.baseEnv('nexus'),
      SPIKE_NEXUS_TLS_PORT: `:${String(this.opts.nexusPort)}`,
      SPIKE_NEXUS_HEALTH_ADDR: `127.0.0.1:${String(this.opts.healthPort)}`,
      SPIKE_NEXUS_DATA_DIR: this.dataDir,
      SPIKE_NEXUS_AUDIT_LOG: join(this.opts.logDir, 'audit.jsonl'),
      SPIKE_SYSTEM_LOG_LEVEL: 'INFO',
      ...this.opts.nexusEnv,
    };
    this.nexus = this.spawnProc('nexus', BIN.nexus, [], env);
    await waitForPort(this.opts.nexusPort, 30_000, this.nexus);
  }

  /** Health state of Nexus: 'ready', 'not-ready' or 'down'. */
  async nexusState(): Promise<'ready' | 'not-ready' | 'down'> {
    const status = await httpStatus(this.opts.healthPort, '/readyz');
    if (status === 200) return 'ready';
    if (status === 503) return 'not-ready';
    return 'down';
  }

  async waitNexusReady(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if ((await this.nexusState()) === 'ready') return true;
      await sleep(100);
    }
    return false;
  }

  runBootstrap(extraEnv: Record<string, string> = {}, args: string[] = ['-init']): Promise<RunResult> {
    return this.run(BIN.bootstrap, args, { ...this.baseEnv('bootstrap'), ...extraEnv });
  }

  runSpike(
    identity: IdentityName,
    args: string[],
    input?: string | Buffer,
    extraEnv: Record<string, string> = {},
  ): Promise<RunResult> {
    const env = {
      ...this.baseEnv(identity),
      SPIKE_PILOT_RECOVERY_DIR: join(this.opts.dir, 'recovery'),
      ...extraEnv,
    };
    return this.run(BIN.spike, args, env, input);
  }

  /**
   * SPIKE's demo policies, applied as the Pilot superuser: workloads under
   * `spiffe://spike.ist/workload/` may read (`workload-can-read`) and write (`workload-can-write`)
   * `tenants/demo/db/*`. Returns the CLI result of each apply.
   */
  async applyDemoPolicies(): Promise<RunResult[]> {
    const results: RunResult[] = [];
    for (const [name, permission] of DEMO_POLICIES) {
      results.push(
        await this.runSpike('pilot', [
          'policy',
          'apply',
          '--name',
          name,
          '--path-pattern',
          '^tenants/demo/db/.*$',
          '--spiffeid-pattern',
          '^spiffe://spike\\.ist/workload/.*$',
          '--permissions',
          permission,
        ]),
      );
    }
    return results;
  }

  /**
   * Start a long-running Node.js client (`script` run with this Node) holding `identity`, e.g. a
   * write load. Its output also goes to `<logDir>/<name>.log`; its `stop()` ends it, and so does
   * the stack's `stop()`.
   */
  startClient(
    name: string,
    script: string,
    args: string[],
    identity: IdentityName,
    extraEnv: Record<string, string> = {},
  ): ClientProc {
    const proc = this.spawnProc(name, script, args, { ...this.baseEnv(identity), ...extraEnv });
    let out = '';
    let err = '';
    proc.child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const client: ClientProc = {
      child: proc.child,
      stdout: () => out,
      stderr: () => err,
      exited: proc.exited,
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        await stopProc(proc, signal);
        this.clients.delete(client);
      },
    };
    this.clients.add(client);
    return client;
  }

  isRunning(component: 'nexus' | 'issuer' | number): boolean {
    const p =
      component === 'nexus' ? this.nexus : component === 'issuer' ? this.issuer : this.keepers.get(component);
    return p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
  }

  /** Sends `signal` to the running Nexus without waiting (SIGHUP: reopen the audit file). */
  signalNexus(signal: NodeJS.Signals): void {
    if (this.nexus === undefined) throw new Error('Nexus is not running');
    this.nexus.child.kill(signal);
  }

  /** The process id of the running Nexus, if any. */
  nexusPid(): number | undefined {
    return this.nexus?.child.pid;
  }

  async stopNexus(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProc(this.nexus, signal);
    this.nexus = undefined;
  }

  /** `kill -9` Nexus: no shutdown code runs (a crash). */
  killNexus(): Promise<void> {
    return this.stopNexus('SIGKILL');
  }

  /** Sends `signal` to keeper #index (0-based) without waiting (SIGSTOP/SIGCONT: make it hang). */
  signalKeeper(index: number, signal: NodeJS.Signals): void {
    const p = this.keepers.get(index);
    if (p === undefined) throw new Error(`keeper #${String(index)} is not running`);
    p.child.kill(signal);
  }

  /** `kill -9` keeper #index (0-based): its share is gone with it. */
  killKeeper(index: number): Promise<void> {
    return this.stopKeeper(index, 'SIGKILL');
  }

  async stopKeeper(index: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProc(this.keepers.get(index), signal);
    this.keepers.delete(index);
  }

  async stopIssuer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProc(this.issuer, signal);
    this.issuer = undefined;
  }

  /** Stops everything: clients and Nexus first, then keepers, then the identity issuer. */
  async stop(): Promise<void> {
    await Promise.all([...this.clients].map((c) => c.stop()));
    await this.stopNexus();
    await Promise.all([...this.keepers.keys()].map((i) => this.stopKeeper(i)));
    await this.stopIssuer();
  }

  /** How to start `bin`: with this Node.js, or as its self-contained executable. */
  private command(bin: string, args: string[]): [string, string[]] {
    const exe = this.executables ? EXE_NAME[bin] : undefined;
    return exe === undefined ? [process.execPath, [bin, ...args]] : [exe, args];
  }

  private spawnProc(name: string, bin: string, args: string[], env?: Record<string, string>): Proc {
    const log = createWriteStream(join(this.opts.logDir, `${name}.log`), { flags: 'a', mode: 0o600 });
    const [command, argv] = this.command(bin, args);
    const child = spawn(command, argv, {
      env: env ?? this.baseEnv('nexus'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    // 'close' (not 'exit'): the output is fully piped to the log before the log may be ended.
    const exited = new Promise<number | null>((resolve) => {
      child.once('close', (code) => resolve(code));
    });
    return { child, exited, log };
  }

  private run(
    bin: string,
    args: string[],
    env: Record<string, string>,
    input?: string | Buffer,
  ): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const [command, argv] = this.command(bin, args);
      const child = spawn(command, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.once('error', reject);
      child.once('close', (code) => {
        resolve({
          code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
      child.stdin.end(input ?? '');
    });
  }
}

async function stopProc(proc: Proc | undefined, signal: NodeJS.Signals): Promise<void> {
  if (proc === undefined) return;
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill(signal);
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
    await proc.exited;
    clearTimeout(timer);
  }
  await proc.exited;
  proc.log.end();
}

export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
}

async function waitForPort(port: number, timeoutMs: number, proc?: Proc): Promise<void> {
  await waitFor(`port ${String(port)}`, timeoutMs, async () => {
    if (proc !== undefined && proc.child.exitCode !== null) {
      throw new Error(`process for port ${String(port)} exited with code ${String(proc.child.exitCode)}`);
    }
    return portOpen(port);
  });
}

export { freePorts };

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function httpStatus(port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}
