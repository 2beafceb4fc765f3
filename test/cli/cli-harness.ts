/**
 * @module cli-harness
 * Test harness for the `spike` binary: a dev identity issuer (real Workload API sockets under a
 * short /tmp/spx-* directory) and a way to run `bin/spike.js` as a child process with
 * `process.execPath`; an in-process Nexus for it to talk to; `ok`, which insists on a zero exit.
 * Test-only; no package exports it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultIdentities, startDevIssuer } from '@spike-ts/dev-identity';
import type { DevIssuer } from '@spike-ts/dev-identity';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import { createMemoryAuditSink, createNexus, loadConfig, type Nexus } from '@spike-ts/nexus';

export const SPIKE_BIN = fileURLToPath(new URL('../../packages/cli/bin/spike.js', import.meta.url));

export interface SpikeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export interface RunOptions {
  env: Record<string, string>;
  input?: string | Buffer;
  /** Kill the child after this long (default 30 s); a killed run has `signal` set. */
  timeoutMs?: number;
  cwd?: string;
}

/** Run the real `spike` binary with Node (this process's executable). */
export function runSpike(args: readonly string[], opts: RunOptions): Promise<SpikeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SPIKE_BIN, ...args], {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export interface IdentityLab {
  readonly dir: string;
  readonly issuer: DevIssuer;
  /** Key and chain of the issuer's `nexus` identity, for a test server. */
  nexusTls(): Promise<{ keyPem: string; certPem: string; caPem: string }>;
  /** A child environment: HOME in the lab, the identity's socket, and the Nexus URL. */
  env(identity: string, nexusUrl: string, extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** Start a dev issuer with SPIKE's default identities plus `stranger` (no SPIKE role). */
export async function startIdentityLab(): Promise<IdentityLab> {
  const dir = await mkdtemp('/tmp/spx-');
  let issuer: DevIssuer;
  try {
    issuer = await startDevIssuer({
      trustDomain: 'spike.ist',
      stateDir: join(dir, 'state'),
      socketDir: join(dir, 's'),
      identities: [
        ...defaultIdentities('spike.ist'),
        { name: 'stranger', spiffeId: 'spiffe://spike.ist/workload/stranger' },
      ],
      env: {},
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    issuer,
    async nexusTls() {
      const source = await createX509Source({
        endpoint: issuer.endpointFor('nexus'),
        env: {},
        timeoutMs: 10_000,
      });
      try {
        const svid = source.getX509Svid();
        return { keyPem: svid.privateKeyPem, certPem: svid.certChainPem, caPem: issuer.bundlePem() };
      } finally {
        await source.close();
      }
    },
    env(identity, nexusUrl, extra = {}) {
      return {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: join(dir, 'home'),
        SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor(identity),
        SPIKE_NEXUS_API_URL: nexusUrl,
        SPIKE_SPIFFE_SOURCE_TIMEOUT: '10s',
        // Under `npm test` the binary's coverage joins the report.
        ...(process.env['NODE_V8_COVERAGE'] === undefined
          ? {}
          : { NODE_V8_COVERAGE: process.env['NODE_V8_COVERAGE'] }),
        ...extra,
      };
    },
    async close() {
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `run`, after asserting that it exited 0 (the message carries its stderr). */
export function ok(run: SpikeRun): SpikeRun {
  assert.equal(run.code, 0, `exit ${String(run.code)}; stderr: ${run.stderr}`);
  return run;
}

/**
 * A Nexus in this process on a free loopback port, health endpoint off, audit kept in memory;
 * `env` adds to or overrides its configuration (e.g. `SPIKE_NEXUS_BACKEND_STORE`).
 */
export async function startNexus(
  lab: IdentityLab,
  source: X509Source,
  env: Record<string, string>,
): Promise<{ nexus: Nexus; url: string }> {
  const config = loadConfig(
    { SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0', SPIKE_NEXUS_HEALTH_ADDR: 'off', ...env },
    { homeDir: lab.dir },
  );
  const nexus = await createNexus(config, { source, auditSink: createMemoryAuditSink() });
  const address = await nexus.listen();
  return { nexus, url: `https://127.0.0.1:${address.port}` };
}
