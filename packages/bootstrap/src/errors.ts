/**
 * Bootstrap failures. Each carries the process exit code `spike-bootstrap` ends with, and a
 * message written for the operator (what went wrong and what to do next). Never key material.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_REFUSED = 3;
export const EXIT_KEEPER_UNREACHABLE = 4;
export const EXIT_VERIFICATION_FAILED = 5;

export class BootstrapError extends Error {
  override readonly name: string = 'BootstrapError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** Invalid flags or environment. */
export class BootstrapConfigError extends BootstrapError {
  override readonly name = 'BootstrapConfigError';
  /** `cause`: the settings error listing every invalid variable, when it came from the environment. */
  constructor(message: string, cause?: unknown) {
    super(message, EXIT_USAGE, cause === undefined ? undefined : { cause });
  }
}

/** A live system was detected and `--force` was not given. */
export class BootstrapRefusedError extends BootstrapError {
  override readonly name = 'BootstrapRefusedError';
  constructor(message: string) {
    super(message, EXIT_REFUSED);
  }
}

/** At least one keeper could not be given its share. */
export class KeeperUnreachableError extends BootstrapError {
  override readonly name = 'KeeperUnreachableError';
  readonly keepers: readonly string[];
  constructor(message: string, keepers: readonly string[]) {
    super(message, EXIT_KEEPER_UNREACHABLE);
    this.keepers = keepers;
  }
}

/** Nexus did not prove that it holds the new root key. */
export class VerificationError extends BootstrapError {
  override readonly name = 'VerificationError';
  constructor(message: string) {
    super(message, EXIT_VERIFICATION_FAILED);
  }
}
