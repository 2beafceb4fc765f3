/**
 * Runs the real `spike` binary for the login tests and lets a test wait for what it prints on
 * stderr while it runs (the device code, the URL to open).
 */
import { spawn } from 'node:child_process';
import { SPIKE_BIN } from '../cli/cli-harness.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Live {
  /** Resolves with the first stderr match of `pattern`. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  done: Promise<Run>;
}

export function start(args: readonly string[], env: Record<string, string>, timeoutMs = 240_000): Live {
  const child = spawn(process.execPath, [SPIKE_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) {
      const m = w.pattern.exec(stderr);
      if (m !== null) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Run>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    done,
    waitFor: (pattern) =>
      Promise.race([
        new Promise<RegExpExecArray>((resolve) => {
          const m = pattern.exec(stderr);
          if (m !== null) resolve(m);
          else waiters.push({ pattern, resolve });
        }),
        done.then((r) => {
          throw new Error(
            `spike exited (${String(r.code)}) before printing ${String(pattern)}:\n${r.stderr}`,
          );
        }),
      ]),
  };
}

export const run = (args: readonly string[], env: Record<string, string>): Promise<Run> =>
  start(args, env).done;
