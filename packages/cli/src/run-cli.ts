/**
 * @module run-cli
 * Runs one `spike` invocation and returns its exit code. `spike` alone prints the help and then,
 * after a short readiness probe, reminds the operator to initialize SPIKE when Nexus does not
 * answer; `spike --help` prints the help only (it loads no SDK, gRPC or X.509 code).
 */
import { CommanderError } from 'commander';
import { buildProgram } from './build-program.ts';
import type { CliIo } from './cli-io.ts';
import { ChildExit, ExitCode } from './exit-code.ts';

/** How long the help screen's readiness probe may take (each step, and overall plus slack). */
export const PROBE_TIMEOUT_MS = 1500;

export const NOT_READY_REMINDER =
  'Reminder: SPIKE Nexus did not answer a quick readiness check (it may not be initialized yet, be unreachable, ' +
  'or this SVID may not be allowed to list secrets). If SPIKE is new, initialize it first with SPIKE Bootstrap, ' +
  "or restore it with 'spike operator restore'.\n";

export interface RunOptions {
  probeTimeoutMs?: number;
}

export async function runCli(argv: readonly string[], io: CliIo, opts: RunOptions = {}): Promise<number> {
  const program = buildProgram(io);
  if (argv.length === 0) {
    program.outputHelp();
    if (!(await probeReady(io, opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS))) io.stderr.write(NOT_READY_REMINDER);
    return ExitCode.Ok;
  }
  if (argv.length === 1 && argv[0] === 'help') {
    program.outputHelp();
    return ExitCode.Ok;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help) to our streams.
      return err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
        ? ExitCode.Ok
        : ExitCode.Usage;
    }
    // `spike run`: the child's exit status is ours; it printed its own messages.
    if (err instanceof ChildExit) return err.exitCode;
    const { toCliError } = await import('./describe-error.ts');
    const cliErr = toCliError(err, { env: io.env });
    io.stderr.write(`Error: ${cliErr.message}\n`);
    return cliErr.exitCode;
  }
}

/** True when a `secret list` call succeeds within the timeout; never throws, never hangs. */
export async function probeReady(io: CliIo, timeoutMs: number): Promise<boolean> {
  try {
    await io.preload?.();
  } catch {
    return false;
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs + 500);
    timer.unref();
  });
  const attempt = (async () => {
    const source = await io.openSource({ timeoutMs });
    try {
      const client = await io.openClient(source, { timeoutMs });
      try {
        await client.listSecrets();
        return true;
      } finally {
        await client.close();
      }
    } finally {
      await source.close();
    }
  })().catch(() => false);
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
