/**
 * Small process helpers for the tool recipes: find a command on PATH, run a build step with its
 * output shown to the user, capture a command's stdout.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether `command` is an executable file in one of `env.PATH`'s folders. */
export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d !== '')
    .some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function describe(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ');
}

/** Runs a step with stdout and stderr passed through; rejects on a non-zero exit. */
export function runStep(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env, cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (err) => reject(new Error(`could not run ${command}: ${err.message}`)));
    child.once('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`\`${describe(command, args)}\` failed (${signal ?? `exit ${String(code)}`})`)),
    );
  });
}

/** Runs a command and returns its stdout; stderr is passed through; rejects on a non-zero exit. */
export function commandOutput(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.once('error', (err) => reject(new Error(`could not run ${command}: ${err.message}`)));
    child.once('close', (code, signal) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8'))
        : reject(new Error(`\`${describe(command, args)}\` failed (${signal ?? `exit ${String(code)}`})`)),
    );
  });
}
