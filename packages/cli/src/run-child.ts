/**
 * @module run-child
 * Runs one child process for `spike run`: the terminal's stdin/stdout/stderr, the given
 * environment, signals forwarded while it runs, and its exit status in shell terms (the code;
 * 128+n after signal n; 127 when the program is not found, 126 when it cannot be executed).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];

export interface ChildStatus {
  code: number;
  /** Why the child could not be started, when it could not. */
  error?: string;
}

export function runChild(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ChildStatus> {
  return new Promise((resolve) => {
    const child = spawn(file, [...args], { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    let finished = false;
    const done = (status: ChildStatus): void => {
      if (finished) return;
      finished = true;
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      resolve(status);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') done({ code: 127, error: 'command not found (check the name and PATH)' });
      else if (err.code === 'EACCES') done({ code: 126, error: 'permission denied (not executable)' });
      else done({ code: 126, error: err.code ?? err.message });
    });
    child.once('exit', (code, signal) => {
      if (signal !== null) done({ code: 128 + (constants.signals[signal] ?? 0) });
      else done({ code: code ?? 1 });
    });
  });
}
