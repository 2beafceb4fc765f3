/**
 * `spike-dev`: the entry point. `main(argv)` refuses production, parses the command line, starts
 * the dev stack, prints what a developer needs (the DEVELOPMENT ONLY banner, the Nexus URL, the
 * socket directory, the environment to export) and serves until SIGINT/SIGTERM. It resolves with
 * the exit code once everything is stopped; the caller exits with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger, type Logger } from '@spike-ts/core';
import { DevIssuerConfigError, DevIssuerRefusedError } from '@spike-ts/dev-identity';
import { NexusIdentityError, ConfigError } from '@spike-ts/nexus';
import { readSetting, SPIKE_SYSTEM_LOG_LEVEL, type Env } from '@spike-ts/settings';
import { DEV_MODE_VERSION, HELP_TEXT, parseDevModeArgs, type DevModeArgs } from './args.ts';
import { DataDirInUseError, lockDataDir } from './data-dir-lock.ts';
import { startDevStack, type DevStack, type DevStackOptions } from './dev-stack.ts';
import { startBanner } from './start-banner.ts';

/** Exit codes (the CLI's conventions, ADR 0011). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface MainIo {
  readonly env: Env;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Where SIGINT/SIGTERM handlers go (default `process`). */
  readonly signals: SignalSource;
}

/** What `main` needs of `process` to learn about SIGINT and SIGTERM. */
export interface SignalSource {
  once(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/** Runs `spike-dev` with `argv` (without the node and script paths); resolves with the exit code. */
export async function main(argv: readonly string[], io: Partial<MainIo> = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const signals = io.signals ?? process;
  const fail = async (message: string, code: number): Promise<number> => {
    await write(stderr, `spike-dev: ${message}\n`);
    return code;
  };

  if (env['NODE_ENV'] === 'production') {
    return fail(
      'refusing to start: NODE_ENV=production. spike-dev is for DEVELOPMENT ONLY (secrets in memory, ' +
        'a throwaway CA, identities for whoever opens a socket). In production run spike-nexus and ' +
        'spike-keeper with SPIRE (docs/install.md).',
      EXIT_USAGE,
    );
  }
  const parsed = parseDevModeArgs(argv);
  if (parsed.kind === 'help') {
    await write(stdout, HELP_TEXT);
    return EXIT_OK;
  }
  if (parsed.kind === 'version') {
    await write(stdout, `spike-dev ${DEV_MODE_VERSION}\n`);
    return EXIT_OK;
  }
  if (parsed.kind === 'usage-error') {
    return fail(`${parsed.message}. Run 'spike-dev --help'.`, EXIT_USAGE);
  }
  const args = parsed.args;

  let logger: Logger;
  try {
    logger = createLogger({
      level: readSetting(env, SPIKE_SYSTEM_LOG_LEVEL),
      sink: (line) => stderr.write(line),
      base: {},
    });
  } catch (err) {
    return fail(`invalid configuration: ${(err as Error).message}`, EXIT_USAGE);
  }

  const socketDir = args.socketDir ?? join('/tmp', `spike-dev-${String(userInfo().uid)}`);
  const dataDir = args.dataDir === undefined ? undefined : resolve(args.dataDir);
  let release: () => void;
  let identityStateDir: string;
  try {
    if (dataDir === undefined) {
      // The dev CA of an in-memory run is as throwaway as its secrets.
      const dir = mkdtempSync(join(tmpdir(), 'spike-dev-ca-'));
      identityStateDir = dir;
      release = () => rmSync(dir, { recursive: true, force: true });
    } else {
      // Kept with the data, so restarts reuse the CA.
      identityStateDir = join(dataDir, 'identity');
      release = lockDataDir(dataDir);
    }
  } catch (err) {
    return fail(
      err instanceof DataDirInUseError ? err.message : `could not start: ${(err as Error).message}`,
      1,
    );
  }

  // From here on SIGINT/SIGTERM stop dev mode cleanly; during start-up, once the start has ended
  // (the listeners are gone after the first signal, so a second one ends the process at once).
  let signalled: NodeJS.Signals | undefined;
  let stopServing: ((signal: NodeJS.Signals) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals.removeListener('SIGINT', onSignal);
    signals.removeListener('SIGTERM', onSignal);
    signalled = signal;
    if (stopServing !== undefined) stopServing(signal);
    else
      stderr.write(
        `spike-dev: ${signal} received while starting; stopping as soon as the start has ended ` +
          '(send it again to quit at once)\n',
      );
  };
  signals.once('SIGINT', onSignal);
  signals.once('SIGTERM', onSignal);

  let stack: DevStack;
  try {
    stack = await startDevStack({
      port: args.port,
      socketDir,
      identityStateDir,
      extraIdentities: args.identities,
      store: dataDir === undefined ? { kind: 'memory' } : { kind: 'sqlite', dataDir },
      progress: (line) => stderr.write(`spike-dev: ${line}\n`),
      env,
      logger,
    } satisfies DevStackOptions);
  } catch (err) {
    signals.removeListener('SIGINT', onSignal);
    signals.removeListener('SIGTERM', onSignal);
    release();
    return fail(startFailure(err, args), startFailureCode(err));
  }

  const stop = async (signal: NodeJS.Signals): Promise<number> => {
    const note =
      stack.store.kind === 'memory'
        ? 'secrets in memory are discarded'
        : `secrets stay in ${stack.store.dataDir}`;
    await write(stderr, `spike-dev: ${signal} received, stopping (${note})\n`);
    // Each component's stop is awaited and its failure logged; none is skipped.
    await stack.close();
    release();
    return EXIT_OK;
  };
  if (signalled !== undefined) return stop(signalled);
  await write(stdout, startBanner(stack));
  return new Promise<number>((resolve) => {
    stopServing = (signal) => void stop(signal).then(resolve);
    // A signal may have come while the banner was written.
    if (signalled !== undefined) stopServing(signalled);
  });
}

function startFailure(err: unknown, args: DevModeArgs): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ConfigError) return `invalid configuration: ${message}`;
  if (err instanceof DevIssuerConfigError || err instanceof DevIssuerRefusedError) return message;
  if (err instanceof NexusIdentityError) return message;
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return (
      `cannot start Nexus: port ${String(args.port)} on 127.0.0.1 is in use (another spike-dev, the demo ` +
      `or SPIKE?). Stop it, or choose another port with --port (0: any free port).`
    );
  }
  return `could not start: ${message}`;
}

function startFailureCode(err: unknown): number {
  return err instanceof ConfigError || err instanceof DevIssuerConfigError ? EXIT_USAGE : EXIT_FAILURE;
}
