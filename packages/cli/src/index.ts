/**
 * @module @spike-ts/cli
 * The `spike` command (SPIKE Pilot). The binary is `bin/spike.js`; this entry exposes the pieces
 * for embedding and tests.
 */
export { runCli, probeReady, NOT_READY_REMINDER, PROBE_TIMEOUT_MS } from './run-cli.ts';
export type { RunOptions } from './run-cli.ts';
export { buildProgram } from './build-program.ts';
export type { CliIo, InputStream, OutputStream } from './cli-io.ts';
export { CliError, ExitCode, EXIT_CODE_HELP } from './exit-code.ts';
export { completionScript, COMPLETION_SHELLS } from './completion-script.ts';
export type { CompletionShell } from './completion-script.ts';
export { parseShard, formatShard } from './recovery-shard.ts';
export { recoveryDir, writeRecoveryFiles } from './recovery-files.ts';
export { CLI_VERSION } from './version.ts';
