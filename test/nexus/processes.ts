/**
 * Launchers for the real binaries (`bin/spike-nexus.js`, `bin/spike-keeper.js`) against the dev
 * identity issuer. Every child is tracked and killed by `killAll()`. A child started without a
 * HOME gets a private one (removed once it exited), so nothing it writes under `~` (Nexus's
 * default data directory and audit signing key, `~/.spike/data`) is shared with other runs or
 * users.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevIssuer } from '@spike-ts/dev-identity';
import { createX509Source } from '@spike-ts/identity';
import type { ClientCert, Pki } from './harness.ts';

export const NEXUS_BIN = join(import.meta.dirname, '..', '..', 'packages', 'nexus', 'bin', 'spike-nexus.js');
export const KEEPER_BIN = join(
  import.meta.dirname,
  '..',
  '..',
  'packages',
  'keeper',
  'bin',
  'spike-keeper.js',
);

export interface Child {
  readonly proc: ChildProcess;
  /** Everything written to stderr and stdout so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
}

const children = new Set<ChildProcess>();

/**
 * Starts `bin` with this Node.js and exactly `env` (plus PATH). Without `env.HOME` the child's
 * HOME is a fresh 0700 directory of its own, deleted when the child exits; pass HOME to share one
 * between launches (a restart that must find its data again).
 */
export function launch(bin: string, env: Record<string, string>, args: string[] = []): Child {
  const home = env.HOME === undefined ? mkdtempSync(join(tmpdir(), 'spike-test-home-')) : undefined;
  const proc = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '', ...(home === undefined ? {} : { HOME: home }), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  if (home !== undefined) proc.once('close', () => rmSync(home, { recursive: true, force: true }));
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      resolve(code ?? signal ?? -1);
    });
  });
  return { proc, output: () => out, exited };
}

/** Wait until the child prints `listening on <host>:<port>`; rejects if it exits first. */
export function waitForPort(child: Child, timeoutMs = 20_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on [^\s]*:(\d+)/.exec(child.output());
      if (m !== null) {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(Number(m[1]));
      }
    }, 25);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`child did not start listening:\n${child.output()}`));
    }, timeoutMs);
    void child.exited.then((code) => {
      clearInterval(timer);
      clearTimeout(deadline);
      reject(new Error(`child exited with ${String(code)} before listening:\n${child.output()}`));
    });
  });
}

export function killAll(): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const proc of children) {
    waits.push(new Promise((resolve) => proc.once('exit', () => resolve())));
    proc.kill('SIGKILL');
  }
  return Promise.all(waits).then(() => undefined);
}

/** A client certificate for one of the issuer's identities, fetched over the Workload API. */
export async function certFromIssuer(issuer: DevIssuer, name: string): Promise<ClientCert> {
  const source = await createX509Source({ endpoint: issuer.endpointFor(name), timeoutMs: 10_000, env: {} });
  try {
    const svid = source.getX509Svid();
    return { id: svid.spiffeId, keyPem: svid.privateKeyPem, certPem: svid.certChainPem };
  } finally {
    await source.close();
  }
}

/** The `Pki` shape `call` needs, trusting the issuer's bundle. */
export function issuerTrust(issuer: DevIssuer): Pki {
  const caPem = issuer.bundlePem();
  const unsupported = (): never => {
    throw new Error('not available for issuer-backed tests');
  };
  return { ca: undefined as never, caPem, cert: unsupported, foreignCert: unsupported };
}
