/**
 * Go duration syntax for identity's callers; the parser itself lives with the settings table
 * (`@spike-ts/settings`), which every `SPIKE_*` duration goes through.
 */
export { DurationSyntaxError, formatDuration, parseGoDuration } from '@spike-ts/settings';
