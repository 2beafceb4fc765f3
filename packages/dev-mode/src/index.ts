/**
 * `@spike-ts/dev-mode`: `spike-dev`, SPIKE in one process for development (the dev identity
 * issuer and Nexus, composed from their packages' own start functions). Development only: it
 * refuses NODE_ENV=production, and no package imports it.
 */
export { main, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, type MainIo, type SignalSource } from './main.ts';
export { parseDevModeArgs, DEV_MODE_VERSION, DEFAULT_NEXUS_PORT, HELP_TEXT } from './args.ts';
export type { DevModeArgs, ParsedArgs } from './args.ts';
export { startDevStack, componentEnv, type DevStack, type DevStackOptions } from './dev-stack.ts';
