/**
 * Starts `spike-dev` and runs the `spike` CLI as real processes, for the dev-mode suites.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../packages/dev-mode/bin/spike-dev.js', import.meta.url));
export const SPIKE = fileURLToPath(new URL('../../packages/cli/bin/spike.js', import.meta.url));

/** The environment of a developer's shell: no SPIKE or SPIFFE variables, no NODE_ENV. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('SPIKE_') && k !== 'SPIFFE_ENDPOINT_SOCKET' && k !== 'NODE_ENV')
      env[k] = v;
  }
  return { ...env, ...extra };
}

export interface DevProc {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Resolves once stdout shows the ready line; rejects if the process exits first. */
  ready(): Promise<void>;
  /** `export NAME=value` lines of the start banner. */
  exports(): Record<string, string>;
}

export function startDev(args: string[], env = cleanEnv()): DevProc {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    ready: () =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (out.includes('spike-dev: ready')) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
        void exited.then((code) => {
          if (!out.includes('spike-dev: ready'))
            reject(new Error(`spike-dev exited (${String(code)}) before it was ready:\n${out}\n${err}`));
        });
      }),
    exports: () => {
      const found: Record<string, string> = {};
      for (const m of out.matchAll(/^ {2}export ([A-Z_]+)=(\S+)$/gm)) found[m[1]!] = m[2]!;
      return found;
    },
  };
}

export function runSpike(env: Record<string, string>, args: string[], input = '') {
  return spawnSync(process.execPath, [SPIKE, ...args], {
    env: cleanEnv(env),
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

export function run(args: string[], env = cleanEnv()) {
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

export const sockets = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sock')) : [];
