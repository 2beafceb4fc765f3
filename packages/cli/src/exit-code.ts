/**
 * @module exit-code
 * The documented exit codes of `spike`. Every failure exits non-zero (SPIKE 0.8.2 often exited
 * 0 after printing an error; scripts could not tell).
 */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** General failure, invalid input, or an error Nexus reported (bad request, internal). */
  General: 1,
  /** Command-line usage error (unknown command or option, missing argument). */
  Usage: 2,
  /** The secret, version or policy does not exist. */
  NotFound: 3,
  /** Nexus denied the request, or this CLI's SVID lacks the role the command needs. */
  Unauthorized: 4,
  /** Nexus is not initialized or not ready yet (no root key). */
  NotReady: 5,
  /** Nexus is unreachable (connection refused, TLS failure, wrong server identity, timeout). */
  Unreachable: 6,
  /** No SVID: the SPIFFE Workload API gave this CLI no identity. */
  NoIdentity: 7,
  /**
   * The operation needs approval by other people first (`approval_required`), or a request is
   * still pending when `spike request --wait` gives up: file or wait for a request (ADR 0043).
   */
  ApprovalRequired: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Lines for `spike --help` and the README. */
export const EXIT_CODE_HELP = [
  'Exit codes:',
  '  0  success',
  '  1  general failure or invalid input',
  '  2  usage error (unknown command/option, missing argument)',
  '  3  not found',
  '  4  unauthorized (Nexus denied it, or this SVID lacks the needed role)',
  '  5  SPIKE Nexus not initialized / not ready',
  '  6  SPIKE Nexus unreachable',
  '  7  no SVID from the SPIFFE Workload API',
  '  8  approval required: file a request (spike request ...) and wait for the approvals',
].join('\n');

/** An error the CLI reports as is: one message for stderr, one exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = ExitCode.General) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A usage error (exit 2): a missing required option or argument, or options that exclude each other. */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.Usage);
}

/** Not an error: `spike run` ends with its child's exit status (0..255), already reported by the child. */
export class ChildExit extends Error {
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(`child exited with ${String(exitCode)}`);
    this.name = 'ChildExit';
    this.exitCode = exitCode;
  }
}

/** An invalid argument or option value; the message names it. */
export function invalidInput(message: string): CliError {
  return new CliError(message, ExitCode.General);
}
