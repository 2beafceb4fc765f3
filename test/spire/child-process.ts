/**
 * Child processes for the SPIRE suite: long-running ones (SPIRE server and agent, keepers, Nexus,
 * load clients) with their output kept in memory for failure messages, and one-shot runs (SPIRE
 * CLIs, bootstrap, `spike`). Children run as the test's own user; the SPIRE suite tells them apart
 * by the executable they start from (see spire-harness.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** Keep the last this-many characters of a child's output. */
const OUTPUT_LIMIT = 256 * 1024;

export interface ChildOptions {
  /** Short name used in error messages. */
  name: string;
  env: Record<string, string>;
  cwd?: string;
}

export interface ManagedChild {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Everything the child wrote to stdout and stderr so far (the tail, when it wrote a lot). */
  output(): string;
  /** Resolves with the exit code, or the signal name. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** Sends `signal` (default SIGTERM), escalates to SIGKILL after `graceMs`, waits for the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

const live = new Set<ChildProcess>();

// Last line of defence when the test process dies without running its `after` hooks.
process.once('exit', () => {
  for (const proc of live) proc.kill('SIGKILL');
});

function appendTail(current: string, chunk: Buffer): string {
  const next = current + chunk.toString('utf8');
  return next.length > OUTPUT_LIMIT ? next.slice(next.length - OUTPUT_LIMIT) : next;
}

/** Starts a long-running child; its stdin is closed unless `keepStdin` is set. */
export function launch(
  command: string,
  args: readonly string[],
  opts: ChildOptions & { keepStdin?: boolean },
): ManagedChild {
  const proc = spawn(command, [...args], {
    env: opts.env,
    cwd: opts.cwd ?? '/',
    stdio: [opts.keepStdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out = appendTail(out, c)));
  proc.stderr?.on('data', (c: Buffer) => (out = appendTail(out, c)));
  proc.stdin?.on('error', () => undefined);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('error', (err) => {
      out += `\n[spawn failed: ${err.message}]`;
      live.delete(proc);
      resolve(-1);
    });
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve(code ?? signal ?? -1);
    });
  });
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null && live.has(proc);
  return {
    name: opts.name,
    proc,
    output: () => out,
    exited,
    running,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
      if (running()) {
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    },
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a child to completion, feeding `input` on stdin; killed after `timeoutMs`. */
export function run(
  command: string,
  args: readonly string[],
  opts: ChildOptions & { input?: string | Buffer; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, [...args], {
      env: opts.env,
      cwd: opts.cwd ?? '/',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(proc);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    proc.stdout.on('data', (c: Buffer) => out.push(c));
    proc.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    proc.once('error', (e) => {
      clearTimeout(timer);
      live.delete(proc);
      reject(new Error(`${opts.name}: could not start ${command}: ${e.message}`));
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    proc.stdin.on('error', () => undefined);
    proc.stdin.end(opts.input ?? '');
  });
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined. */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined> | T | undefined,
  intervalMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The last `lines` lines of a child's output, for assertion messages. */
export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}
