/**
 * `@spike-ts/settings`: the one table of `SPIKE_*` environment variables, its rules and its
 * parser (one error type, every invalid variable at once). It imports nothing of ours, so every
 * component — identity, servers, CLI, SDK — reads its environment through it.
 */
export * from './table.ts';
export * from './reader.ts';
export { readKeeperPeers, readShamirSplit } from './custody-rules.ts';
export {
  RuleBroken,
  describeMs,
  type AuditSink,
  type ListenAddress,
  type Rule,
  type SyslogTarget,
  type PostgresUrl,
} from './rules.ts';
export { DurationSyntaxError, formatDuration, parseGoDuration } from './go-duration.ts';
export { renderConfigurationDoc, SPIKE_VARIABLES_NOT_READ } from './doc.ts';
