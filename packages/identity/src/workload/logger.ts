/**
 * The logging surface the identity package needs. The logger from `@spike-ts/core`
 * (`createLogger`) satisfies it structurally; the identity package does not depend on core.
 */
export interface IdentityLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => undefined;

/** Drops everything. */
export const silentIdentityLogger: IdentityLogger = { debug: noop, info: noop, warn: noop, error: noop };
