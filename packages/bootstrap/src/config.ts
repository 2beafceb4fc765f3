/**
 * Bootstrap configuration from SPIKE's environment variables (spike-0.8.2 §8.5) and flags.
 * Unlike SPIKE, an invalid value is an error naming the variable (the value is not echoed).
 */
import { readLogLevel, type LogLevel } from '@spike-ts/core';
import { parseGoDuration, trustRootsFromEnv, type TrustRoots } from '@spike-ts/identity';
import { DEFAULT_NEXUS_API_URL } from '@spike-ts/protocol';
import { BootstrapConfigError } from './errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface BootstrapConfig {
  /** Keeper base URLs; keeper i (1-based position) receives share i. */
  readonly keeperPeers: readonly string[];
  readonly shares: number;
  readonly threshold: number;
  readonly nexusApiUrl: string;
  readonly keeperMaxRetries: number;
  readonly keeperRetryInitialMs: number;
  readonly keeperRetryMaxMs: number;
  readonly keeperTimeoutMs: number;
  readonly verificationTimeoutMs: number;
  /** 0 = no overall time limit. */
  readonly timeoutMs: number;
  /** Skip the live-system check (SPIKE_BOOTSTRAP_FORCE=true or --force). */
  readonly force: boolean;
  /** The bootstrap's own view of the backend; `memory` needs no root key. */
  readonly backendStore: string;
  readonly trustRoots: TrustRoots;
  readonly logLevel: LogLevel;
}

function read(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = read(env, name);
  if (v === undefined) return fallback;
  const n = /^[0-9]{1,9}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) {
    throw new BootstrapConfigError(`${name} must be a whole number between ${min} and ${max}`);
  }
  return n;
}

function readDuration(env: Env, name: string, fallback: string, allowZero: boolean): number {
  const v = read(env, name) ?? fallback;
  let ms: number;
  try {
    ms = Math.round(parseGoDuration(v));
  } catch {
    throw new BootstrapConfigError(`${name} must be a duration such as 500ms, 30s, 5m or 1h30m`);
  }
  if (ms < 0 || (!allowZero && ms === 0)) {
    throw new BootstrapConfigError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} duration`);
  }
  return ms;
}

/** SPIKE's rules for SPIKE_NEXUS_KEEPER_PEERS: https URLs with a host, no empties, no duplicates. */
export function parseKeeperPeers(raw: string | undefined): string[] {
  const name = 'SPIKE_NEXUS_KEEPER_PEERS';
  if (raw === undefined || raw.trim() === '') {
    throw new BootstrapConfigError(
      `${name} is required: a comma-separated list of keeper URLs (https://host:port)`,
    );
  }
  const peers = raw.split(',').map((p) => p.trim());
  const seen = new Set<string>();
  for (const [i, peer] of peers.entries()) {
    if (peer === '') throw new BootstrapConfigError(`${name}: entry ${i + 1} is empty`);
    let url: URL;
    try {
      url = new URL(peer);
    } catch {
      throw new BootstrapConfigError(`${name}: entry ${i + 1} is not a URL`);
    }
    if (url.protocol !== 'https:' || url.hostname === '' || url.username !== '' || url.password !== '') {
      throw new BootstrapConfigError(`${name}: entry ${i + 1} must be an https:// URL with a host`);
    }
    const key = url.origin + url.pathname.replace(/\/+$/, '');
    if (seen.has(key)) throw new BootstrapConfigError(`${name}: entry ${i + 1} is a duplicate`);
    seen.add(key);
  }
  return peers;
}

function parseNexusUrl(raw: string | undefined): string {
  const v = raw ?? DEFAULT_NEXUS_API_URL;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new BootstrapConfigError('SPIKE_NEXUS_API_URL is not a URL');
  }
  if (url.protocol !== 'https:' || url.hostname === '') {
    throw new BootstrapConfigError('SPIKE_NEXUS_API_URL must be an https:// URL with a host');
  }
  return v;
}

export function loadBootstrapConfig(env: Env, flags: { force?: boolean } = {}): BootstrapConfig {
  const shares = readInt(env, 'SPIKE_NEXUS_SHAMIR_SHARES', 3, 1, 1000);
  const threshold = readInt(env, 'SPIKE_NEXUS_SHAMIR_THRESHOLD', 2, 1, 1000);
  if (threshold > shares) {
    throw new BootstrapConfigError(
      'SPIKE_NEXUS_SHAMIR_THRESHOLD must not be greater than SPIKE_NEXUS_SHAMIR_SHARES',
    );
  }
  const backendStore = (read(env, 'SPIKE_NEXUS_BACKEND_STORE') ?? 'sqlite').toLowerCase();
  const keeperPeers = backendStore === 'memory' ? [] : parseKeeperPeers(env.SPIKE_NEXUS_KEEPER_PEERS);
  if (backendStore !== 'memory' && keeperPeers.length !== shares) {
    throw new BootstrapConfigError(
      `SPIKE_NEXUS_KEEPER_PEERS lists ${keeperPeers.length} keeper(s) but SPIKE_NEXUS_SHAMIR_SHARES is ${shares}: ` +
        'every share needs exactly one keeper (keeper i receives share i)',
    );
  }
  const keeperRetryInitialMs = readDuration(
    env,
    'SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL',
    '2s',
    false,
  );
  const keeperRetryMaxMs = readDuration(env, 'SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL', '30s', false);
  if (keeperRetryMaxMs < keeperRetryInitialMs) {
    throw new BootstrapConfigError(
      'SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL must not be shorter than SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL',
    );
  }
  let trustRoots: TrustRoots;
  try {
    trustRoots = trustRootsFromEnv(env);
  } catch (err) {
    throw new BootstrapConfigError((err as Error).message);
  }
  return Object.freeze({
    keeperPeers: Object.freeze(keeperPeers),
    shares,
    threshold,
    nexusApiUrl: parseNexusUrl(read(env, 'SPIKE_NEXUS_API_URL')),
    keeperMaxRetries: readInt(env, 'SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES', 5, 1, 1000),
    keeperRetryInitialMs,
    keeperRetryMaxMs,
    keeperTimeoutMs: readDuration(env, 'SPIKE_BOOTSTRAP_KEEPER_TIMEOUT', '30s', false),
    verificationTimeoutMs: readDuration(env, 'SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT', '30m', false),
    timeoutMs: readDuration(env, 'SPIKE_BOOTSTRAP_TIMEOUT', '0', true),
    force: flags.force === true || env.SPIKE_BOOTSTRAP_FORCE === 'true',
    backendStore,
    trustRoots,
    logLevel: logLevelFrom(env),
  });
}

function logLevelFrom(env: Readonly<Record<string, string | undefined>>): LogLevel {
  try {
    return readLogLevel(env.SPIKE_SYSTEM_LOG_LEVEL, 'warn');
  } catch (err) {
    throw new BootstrapConfigError(`SPIKE_SYSTEM_LOG_LEVEL: ${(err as Error).message}`);
  }
}
