/**
 * Nexus configuration: SPIKE's environment variables (same names and defaults) plus our own
 * hardening knobs, parsed once at start-up into a frozen object. Unlike SPIKE, an invalid value
 * is a start-up error that names the variable and the rule; the value itself is never echoed.
 */
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { TrustRootConfigError, trustRootsFromEnv, type TrustRoots } from '@spike-ts/identity';
import type { LogLevel } from '@spike-ts/core';
import type { AuditTarget } from './audit.ts';
import {
  ConfigError,
  parseListenAddress,
  readBool,
  readChoice,
  readDuration,
  readInt,
  readString,
  type Env,
  type ListenAddress,
} from './config-env.ts';

export { ConfigError, type Env, type ListenAddress } from './config-env.ts';

export type BackendKind = 'sqlite' | 'memory';
/** Journal modes that keep acknowledged writes durable (MEMORY and OFF are refused). */
export type JournalMode = 'WAL' | 'DELETE' | 'TRUNCATE' | 'PERSIST';
export type { TrustRoots } from '@spike-ts/identity';

export interface DbConfig {
  readonly journalMode: JournalMode;
  readonly busyTimeoutMs: number;
  /** Accepted and validated for SPIKE compatibility; node:sqlite uses a single connection. */
  readonly maxOpenConns: number;
  readonly maxIdleConns: number;
  readonly connMaxLifetimeMs: number;
  readonly operationTimeoutMs: number;
  readonly initializationTimeoutMs: number;
  readonly skipSchemaCreation: boolean;
}

export interface NexusConfig {
  readonly listen: ListenAddress;
  readonly backend: BackendKind;
  /** `<SPIKE_NEXUS_DATA_DIR>/data`, or `~/.spike/data`. */
  readonly dataDir: string;
  readonly maxSecretVersions: number;
  /** Largest plaintext/ciphertext the cipher API accepts (bytes). */
  readonly maxCipherSize: number;
  readonly maxRequestBodySize: number;
  readonly keeperPeers: readonly string[];
  readonly shamirShares: number;
  readonly shamirThreshold: number;
  readonly shamirMaxShareCount: number;
  /**
   * Threads serving the API (`SPIKE_NEXUS_API_THREADS`, 1..16, default 1). Above 1, worker threads
   * share the port and answer secret reads themselves; everything else goes to the main thread.
   */
  readonly apiThreads: number;
  readonly keeperUpdateIntervalMs: number;
  readonly keeperHeartbeatIntervalMs: number;
  readonly db: DbConfig;
  readonly trustRoots: TrustRoots;
  readonly logLevel: LogLevel;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly audit: AuditTarget;
  /** null = health listener disabled. */
  readonly health: ListenAddress | null;
  readonly spiffeEndpointSocket: string;
  readonly spiffeSourceTimeoutMs: number;
}

export interface LoadConfigOptions {
  /** Home directory for the `~/.spike/data` fallback. */
  readonly homeDir?: string;
  /** User name for the last-resort `/tmp/.spike-<user>/data` fallback. */
  readonly userName?: string;
  /** Base for a relative `SPIKE_NEXUS_DATA_DIR`. */
  readonly cwd?: string;
}

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;
const DEFAULT_WORKLOAD_ENDPOINT = 'unix:///tmp/spire-agent/public/api.sock';

/** Directories SPIKE refuses as data dirs (each and everything below it). */
export const FORBIDDEN_DATA_DIRS: readonly string[] = Object.freeze([
  '/etc',
  '/sys',
  '/proc',
  '/dev',
  '/bin',
  '/sbin',
  '/usr',
  '/lib',
  '/lib64',
  '/boot',
  '/root',
]);

/**
 * `loadConfig` for this process: its environment, home directory, user and working directory
 * (what `spike-nexus` and each of its API threads read at start).
 */
export function loadConfigFromProcess(): NexusConfig {
  let userName: string | undefined;
  try {
    userName = process.env.USER ?? userInfo().username;
  } catch {
    userName = undefined;
  }
  return loadConfig(process.env, { homeDir: homedir(), userName, cwd: process.cwd() });
}

export function loadConfig(env: Env, options: LoadConfigOptions = {}): NexusConfig {
  const backend = readBackend(env);
  const shamirShares = readInt(env, 'SPIKE_NEXUS_SHAMIR_SHARES', 3, 1, 1000);
  const shamirThreshold = readInt(env, 'SPIKE_NEXUS_SHAMIR_THRESHOLD', 2, 1, 1000);
  if (shamirThreshold > shamirShares) {
    throw new ConfigError(
      'SPIKE_NEXUS_SHAMIR_THRESHOLD',
      'must not be greater than SPIKE_NEXUS_SHAMIR_SHARES',
    );
  }
  const shamirMaxShareCount = readInt(env, 'SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT', 1000, 1, 1_000_000);
  if (shamirMaxShareCount < shamirShares) {
    throw new ConfigError(
      'SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT',
      'must not be less than SPIKE_NEXUS_SHAMIR_SHARES',
    );
  }
  const apiThreads = readInt(env, 'SPIKE_NEXUS_API_THREADS', 1, 1, 16);
  if (apiThreads > 1 && backend !== 'sqlite') {
    throw new ConfigError('SPIKE_NEXUS_API_THREADS', 'above 1 needs SPIKE_NEXUS_BACKEND_STORE=sqlite');
  }
  const keeperPeers = readKeeperPeers(env);
  if (backend === 'sqlite') {
    if (keeperPeers.length === 0) {
      throw new ConfigError(
        'SPIKE_NEXUS_KEEPER_PEERS',
        'is required when SPIKE_NEXUS_BACKEND_STORE is sqlite',
      );
    }
    if (keeperPeers.length !== shamirShares) {
      throw new ConfigError(
        'SPIKE_NEXUS_KEEPER_PEERS',
        'must list exactly SPIKE_NEXUS_SHAMIR_SHARES keepers',
      );
    }
  }

  const headersTimeoutMs = readDuration(env, 'SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT', 10_000, 1, DAY_MS);
  const requestTimeoutMs = readDuration(env, 'SPIKE_NEXUS_REQUEST_TIMEOUT', 30_000, 1, DAY_MS);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      'SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT',
      'must not be longer than SPIKE_NEXUS_REQUEST_TIMEOUT',
    );
  }

  const config: NexusConfig = {
    listen: parseListenAddress('SPIKE_NEXUS_TLS_PORT', readString(env, 'SPIKE_NEXUS_TLS_PORT') ?? ':8553'),
    backend,
    apiThreads,
    dataDir: resolveDataDir(env, options),
    maxSecretVersions: readInt(env, 'SPIKE_NEXUS_MAX_SECRET_VERSIONS', 10, 1, 10_000),
    maxCipherSize: readInt(env, 'SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE', 65_536, 1, 64 * MIB),
    maxRequestBodySize: readInt(env, 'SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE', MIB, 1024, 1024 * MIB),
    keeperPeers,
    shamirShares,
    shamirThreshold,
    shamirMaxShareCount,
    keeperUpdateIntervalMs: readDuration(
      env,
      'SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL',
      300_000,
      1000,
      7 * DAY_MS,
    ),
    keeperHeartbeatIntervalMs: readDuration(
      env,
      'SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL',
      10_000,
      100,
      DAY_MS,
    ),
    db: readDbConfig(env),
    trustRoots: readTrustRoots(env),
    logLevel: readChoice<LogLevel>(env, 'SPIKE_SYSTEM_LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'warn'),
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: readDuration(env, 'SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT', 65_000, 1, DAY_MS),
    audit: readAuditTarget(env),
    health: readHealthAddress(env),
    spiffeEndpointSocket: readString(env, 'SPIFFE_ENDPOINT_SOCKET') ?? DEFAULT_WORKLOAD_ENDPOINT,
    spiffeSourceTimeoutMs: readDuration(env, 'SPIKE_SPIFFE_SOURCE_TIMEOUT', 30_000, 1, DAY_MS),
  };
  return deepFreeze(config);
}

function readTrustRoots(env: Env): TrustRoots {
  try {
    return trustRootsFromEnv(env);
  } catch (err) {
    const variable = err instanceof TrustRootConfigError ? err.variable : 'SPIKE_TRUST_ROOT_*';
    throw new ConfigError(variable, 'must be a comma-separated list of valid trust domain names');
  }
}

function readBackend(env: Env): BackendKind {
  return readChoice<BackendKind>(env, 'SPIKE_NEXUS_BACKEND_STORE', ['sqlite', 'memory'], 'sqlite');
}

function readKeeperPeers(env: Env): string[] {
  const name = 'SPIKE_NEXUS_KEEPER_PEERS';
  const raw = readString(env, name);
  if (raw === undefined) return [];
  const peers = raw.split(',').map((p) => p.trim());
  const seen = new Set<string>();
  for (const peer of peers) {
    if (peer === '') throw new ConfigError(name, 'must not contain empty entries');
    let url: URL;
    try {
      url = new URL(peer);
    } catch {
      throw new ConfigError(name, 'every entry must be an https:// URL with a host');
    }
    if (url.protocol !== 'https:' || url.hostname === '' || url.username !== '' || url.password !== '') {
      throw new ConfigError(name, 'every entry must be an https:// URL with a host');
    }
    const key = url.origin + url.pathname.replace(/\/+$/, '');
    if (seen.has(key)) throw new ConfigError(name, 'must not contain duplicate entries');
    seen.add(key);
  }
  return peers;
}

function resolveDataDir(env: Env, options: LoadConfigOptions): string {
  const name = 'SPIKE_NEXUS_DATA_DIR';
  const raw = readString(env, name);
  if (raw !== undefined) {
    const base = resolve(options.cwd ?? '/', raw);
    if (base === '/' || FORBIDDEN_DATA_DIRS.some((d) => base === d || base.startsWith(d + sep))) {
      throw new ConfigError(name, 'must not be / or a system directory (/etc, /usr, /proc, /root, ...)');
    }
    return join(base, 'data');
  }
  if (options.homeDir !== undefined && isAbsolute(options.homeDir)) {
    return join(options.homeDir, '.spike', 'data');
  }
  return join('/tmp', `.spike-${options.userName ?? 'nexus'}`, 'data');
}

function readDbConfig(env: Env): DbConfig {
  const maxOpenConns = readInt(env, 'SPIKE_NEXUS_DB_MAX_OPEN_CONNS', 10, 1, 10_000);
  const maxIdleConns = readInt(env, 'SPIKE_NEXUS_DB_MAX_IDLE_CONNS', 5, 0, 10_000);
  if (maxIdleConns > maxOpenConns) {
    throw new ConfigError(
      'SPIKE_NEXUS_DB_MAX_IDLE_CONNS',
      'must not be greater than SPIKE_NEXUS_DB_MAX_OPEN_CONNS',
    );
  }
  return {
    journalMode: readChoice<JournalMode>(
      env,
      'SPIKE_NEXUS_DB_JOURNAL_MODE',
      ['WAL', 'DELETE', 'TRUNCATE', 'PERSIST'],
      'WAL',
    ),
    busyTimeoutMs: readInt(env, 'SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS', 5000, 0, 600_000),
    maxOpenConns,
    maxIdleConns,
    connMaxLifetimeMs: readDuration(env, 'SPIKE_NEXUS_DB_CONN_MAX_LIFETIME', 3_600_000, 0, 30 * DAY_MS),
    operationTimeoutMs: readDuration(env, 'SPIKE_NEXUS_DB_OPERATION_TIMEOUT', 15_000, 1, DAY_MS),
    initializationTimeoutMs: readDuration(env, 'SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT', 30_000, 1, DAY_MS),
    skipSchemaCreation: readBool(env, 'SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION', false),
  };
}

function readAuditTarget(env: Env): AuditTarget {
  const name = 'SPIKE_NEXUS_AUDIT_LOG';
  const v = readString(env, name);
  if (v === undefined) return { kind: 'stderr' };
  const lower = v.toLowerCase();
  if (lower === 'stderr' || lower === 'stdout' || lower === 'off') return { kind: lower };
  if (!isAbsolute(v)) throw new ConfigError(name, 'must be stderr, stdout, off or an absolute file path');
  return { kind: 'file', path: v };
}

function readHealthAddress(env: Env): ListenAddress | null {
  const name = 'SPIKE_NEXUS_HEALTH_ADDR';
  const v = readString(env, name) ?? ':8554';
  if (v.toLowerCase() === 'off') return null;
  return parseListenAddress(name, v);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
