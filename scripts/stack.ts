/**
 * Starts and stops a whole local SPIKE stack as real processes: the dev identity issuer, N keepers,
 * Nexus, and one-shot runs of bootstrap and the `spike` CLI. Used by the demo (`npm run demo`),
 * the failure drills under `test/`, and the benchmarks. Every process gets its identity from the
 * dev issuer's Workload API socket for its role, exactly as it would from a SPIRE agent.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = join(import.meta.dirname, '..');

export const BIN = {
  devIdentity: join(ROOT, 'packages/identity/bin/spike-dev-identity.js'),
  keeper: join(ROOT, 'packages/keeper/bin/spike-keeper.js'),
  nexus: join(ROOT, 'packages/nexus/bin/spike-nexus.js'),
  bootstrap: join(ROOT, 'packages/bootstrap/bin/spike-bootstrap.js'),
  spike: join(ROOT, 'packages/cli/bin/spike.js'),
} as const;

/** Identity socket names served by the dev issuer's default identity set. */
export type IdentityName =
  'nexus' | 'keeper' | 'bootstrap' | 'pilot' | 'pilot-recover' | 'pilot-restore' | 'lite' | 'demo';

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
  /** X.509-SVID lifetime for the dev issuer (Go duration). */
  svidTtl?: string;
  /** Where child output goes; default `<dir>/logs`. */
  logDir?: string;
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

export class Stack {
  readonly opts: Required<Omit<StackOptions, 'nexusEnv' | 'logDir'>> & {
    nexusEnv: Record<string, string>;
    logDir: string;
  };
  private issuer: Proc | undefined;
  private readonly keepers = new Map<number, Proc>();
  private nexus: Proc | undefined;

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
      svidTtl: options.svidTtl ?? '1h',
      logDir: options.logDir ?? join(options.dir, 'logs'),
    };
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    mkdirSync(this.opts.logDir, { recursive: true, mode: 0o700 });
  }

  get nexusUrl(): string {
    return `https://localhost:${String(this.opts.nexusPort)}`;
  }

  get keeperPeers(): string {
    return this.opts.keeperPorts.map((p) => `https://localhost:${String(p)}`).join(',');
  }

  get dataDir(): string {
    return join(this.opts.dir, 'nexus');
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
    env.SPIFFE_ENDPOINT_SOCKET = this.endpoint(identity);
    env.SPIKE_NEXUS_API_URL = this.nexusUrl;
    env.SPIKE_NEXUS_KEEPER_PEERS = this.keeperPeers;
    env.SPIKE_NEXUS_SHAMIR_SHARES = String(this.opts.shares);
    env.SPIKE_NEXUS_SHAMIR_THRESHOLD = String(this.opts.threshold);
    env.SPIKE_NEXUS_BACKEND_STORE = this.opts.backend;
    env.SPIKE_SPIFFE_SOURCE_TIMEOUT = '20s';
    return env;
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
    const env = { ...this.baseEnv('keeper'), SPIKE_KEEPER_TLS_PORT: `:${String(port)}` };
    this.keepers.set(index, this.spawnProc(`keeper-${String(index + 1)}`, BIN.keeper, [], env));
    await waitForPort(port, 20_000);
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

  runSpike(identity: IdentityName, args: string[], input?: string | Buffer): Promise<RunResult> {
    const env = {
      ...this.baseEnv(identity),
      SPIKE_PILOT_RECOVERY_DIR: join(this.opts.dir, 'recovery'),
    };
    return this.run(BIN.spike, args, env, input);
  }

  isRunning(component: 'nexus' | 'issuer' | number): boolean {
    const p =
      component === 'nexus' ? this.nexus : component === 'issuer' ? this.issuer : this.keepers.get(component);
    return p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
  }

  async stopNexus(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProc(this.nexus, signal);
    this.nexus = undefined;
  }

  async stopKeeper(index: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProc(this.keepers.get(index), signal);
    this.keepers.delete(index);
  }

  async stopIssuer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProc(this.issuer, signal);
    this.issuer = undefined;
  }

  /** Stops everything: Nexus first, then keepers, then the identity issuer. */
  async stop(): Promise<void> {
    await this.stopNexus();
    await Promise.all([...this.keepers.keys()].map((i) => this.stopKeeper(i)));
    await this.stopIssuer();
  }

  private spawnProc(name: string, bin: string, args: string[], env?: Record<string, string>): Proc {
    const log = createWriteStream(join(this.opts.logDir, `${name}.log`), { flags: 'a', mode: 0o600 });
    const child = spawn(process.execPath, [bin, ...args], {
      env: env ?? this.baseEnv('nexus'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
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
      const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
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
