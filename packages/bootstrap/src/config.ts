/**
 * Bootstrap configuration from SPIKE's environment variables (spike-0.8.2 §8.5) and flags, read
 * through the settings table of `@spike-ts/settings`. Unlike SPIKE, invalid values are one
 * `BootstrapConfigError` (exit 2) naming every invalid variable (values are not echoed).
 */
import type { LogLevel } from '@spike-ts/core';
import { readTrustRoots, type TrustRoots } from '@spike-ts/identity';
import {
  SettingsError,
  SettingsReader,
  SPIKE_BOOTSTRAP_FORCE,
  SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT,
  SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES,
  SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL,
  SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL,
  SPIKE_BOOTSTRAP_KEEPER_TIMEOUT,
  SPIKE_BOOTSTRAP_TIMEOUT,
  SPIKE_NEXUS_API_URL,
  SPIKE_NEXUS_BACKEND_STORE,
  SPIKE_NEXUS_KEEPER_PEERS,
  SPIKE_SYSTEM_LOG_LEVEL,
  KEEPERS_REQUIRED,
  readKeeperPeers,
  readShamirSplit,
  type Env,
} from '@spike-ts/settings';
import { BootstrapConfigError } from './errors.ts';

export type { Env } from '@spike-ts/settings';

export interface BootstrapConfig {
  /** Keeper base URLs; keeper i (1-based position) receives share i. */
  readonly keeperPeers: readonly string[];
  readonly shares: number;
  readonly threshold: number;
  /** The first Nexus URL of `SPIKE_NEXUS_API_URL`. */
  readonly nexusApiUrl: string;
  /**
   * Every Nexus URL of `SPIKE_NEXUS_API_URL` (replicas on one database): the live-system check
   * asks each one, the proof of possession may come from any one (ADR 0033). Absent: the first.
   */
  readonly nexusApiUrls?: readonly string[];
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

/** SPIKE's rules for SPIKE_NEXUS_KEEPER_PEERS: https URLs with a host, no empties, no duplicates. */
export function parseKeeperPeers(raw: string | undefined): string[] {
  return withUsageExit(() => {
    const r = new SettingsReader({ SPIKE_NEXUS_KEEPER_PEERS: raw });
    const peers = r.maybe(SPIKE_NEXUS_KEEPER_PEERS);
    r.require(peers !== undefined, SPIKE_NEXUS_KEEPER_PEERS, KEEPERS_REQUIRED);
    r.done();
    return [...(peers ?? [])];
  });
}

/** Settings errors become the bootstrap's usage error (exit 2), with the same message. */
function withUsageExit<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof SettingsError) throw new BootstrapConfigError(err.message, err);
    throw err;
  }
}

export function loadBootstrapConfig(env: Env, flags: { force?: boolean } = {}): BootstrapConfig {
  return withUsageExit(() => {
    const r = new SettingsReader(env);
    const { shares, threshold } = readShamirSplit(r);
    const backendStore = r.get(SPIKE_NEXUS_BACKEND_STORE);
    const keeperPeers = backendStore === 'memory' ? [] : readKeeperPeers(r, true, shares);
    const keeperRetryInitialMs = r.get(SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL);
    const keeperRetryMaxMs = r.get(SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL);
    r.require(
      keeperRetryMaxMs >= keeperRetryInitialMs,
      SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL,
      'must not be shorter than SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL',
      [SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL],
    );
    const nexusApiUrls = r.get(SPIKE_NEXUS_API_URL);
    const config: BootstrapConfig = {
      keeperPeers: Object.freeze([...keeperPeers]),
      shares,
      threshold,
      nexusApiUrl: nexusApiUrls[0] ?? '',
      nexusApiUrls,
      keeperMaxRetries: r.get(SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES),
      keeperRetryInitialMs,
      keeperRetryMaxMs,
      keeperTimeoutMs: r.get(SPIKE_BOOTSTRAP_KEEPER_TIMEOUT),
      verificationTimeoutMs: r.get(SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT),
      timeoutMs: r.get(SPIKE_BOOTSTRAP_TIMEOUT),
      force: flags.force === true || r.get(SPIKE_BOOTSTRAP_FORCE),
      backendStore,
      trustRoots: readTrustRoots(r),
      logLevel: r.get(SPIKE_SYSTEM_LOG_LEVEL),
    };
    r.done();
    return Object.freeze(config);
  });
}
