/**
 * @module run-cli
 * Runs one `spike` invocation and returns its exit code. `spike` alone and `spike --help` print
 * the help and then, after a short readiness probe, remind the operator to initialize SPIKE when
 * Nexus does not answer.
 */
import { CommanderError } from 'commander';
import { buildProgram } from './build-program.ts';
import type { CliIo } from './cli-io.ts';
import { toCliError } from './describe-error.ts';
import { ExitCode } from './exit-code.ts';

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
  const first = argv[0];
  if (
    argv.length === 0 ||
    (argv.length === 1 && (first === '--help' || first === '-h' || first === 'help'))
  ) {
    program.outputHelp();
    if (!(await probeReady(io, opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS))) io.stderr.write(NOT_READY_REMINDER);
    return ExitCode.Ok;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help) to our streams.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? ExitCode.Ok
        : ExitCode.Usage;
    }
    const cliErr = toCliError(err, { env: io.env });
    io.stderr.write(`Error: ${cliErr.message}\n`);
    return cliErr.exitCode;
  }
}

/** True when a `secret list` call succeeds within the timeout; never throws, never hangs. */
export async function probeReady(io: CliIo, timeoutMs: number): Promise<boolean> {
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
