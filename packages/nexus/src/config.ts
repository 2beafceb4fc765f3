/**
 * Nexus configuration: SPIKE's environment variables (same names and defaults) plus our own
 * hardening knobs, read through the settings table of `@spike-ts/settings` and parsed once at
 * start-up into a frozen object. Unlike SPIKE, invalid values are a start-up error that names
 * every invalid variable and its rule; values themselves are never echoed.
 */
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { createSecureContext } from 'node:tls';
import {
  SettingsError,
  SettingsReader,
  SPIFFE_ENDPOINT_SOCKET,
  SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT,
  SPIKE_NEXUS_API_THREADS,
  SPIKE_NEXUS_AUDIT_LOG,
  SPIKE_NEXUS_AUDIT_SYSLOG,
  SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY,
  SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE,
  SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA,
  SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT,
  SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY,
  SPIKE_NEXUS_AUDIT_SIGNING_KEY,
  SPIKE_NEXUS_AUDIT_CHECKPOINT_RECORDS,
  SPIKE_NEXUS_AUDIT_CHECKPOINT_INTERVAL,
  SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN,
  SYSLOG_FACILITY_NAMES,
  SPIKE_NEXUS_BACKEND_STORE,
  SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE,
  SPIKE_NEXUS_DATA_DIR,
  SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS,
  SPIKE_NEXUS_DB_CONN_MAX_LIFETIME,
  SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT,
  SPIKE_NEXUS_DB_JOURNAL_MODE,
  SPIKE_NEXUS_DB_MAX_IDLE_CONNS,
  SPIKE_NEXUS_DB_MAX_OPEN_CONNS,
  SPIKE_NEXUS_DB_OPERATION_TIMEOUT,
  SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION,
  SPIKE_NEXUS_HEALTH_ADDR,
  SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS,
  SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT,
  SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL,
  SPIKE_NEXUS_ROOT_KEY_ROTATION_BATCH_SIZE,
  SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL,
  SPIKE_NEXUS_MAX_CONNECTIONS,
  SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER,
  SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE,
  SPIKE_NEXUS_MAX_SECRET_VERSIONS,
  SPIKE_NEXUS_METRICS,
  SPIKE_NEXUS_OIDC_CONFIG,
  SPIKE_NEXUS_PEOPLE_LISTEN,
  SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE,
  SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE,
  SPIKE_NEXUS_POSTGRES_PASSWORD_FILE,
  SPIKE_NEXUS_POSTGRES_SSLMODE,
  SPIKE_NEXUS_POSTGRES_SSLROOTCERT,
  SPIKE_NEXUS_POSTGRES_URL,
  SPIKE_NEXUS_RATE_LIMIT_BURST,
  SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY,
  SPIKE_NEXUS_RATE_LIMIT_RPS,
  SPIKE_NEXUS_REQUEST_TIMEOUT,
  SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT,
  SPIKE_NEXUS_SHAMIR_SHARES,
  SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT,
  SPIKE_NEXUS_TLS_PORT,
  SPIKE_SPIFFE_SOURCE_TIMEOUT,
  SPIKE_SYSTEM_LOG_LEVEL,
  readKeeperPeers,
  readShamirSplit,
  type Env,
  type ListenAddress,
  type Setting,
  type PostgresSslModeName,
  type PostgresUrl,
} from '@spike-ts/settings';
import { pemToDer, readTrustRoots, type TrustRoots } from '@spike-ts/identity';
import type { LogLevel } from '@spike-ts/core';
import type { AuditTarget } from './audit.ts';
import { OidcConfigError, parseOidcConfig, type OidcConfig } from './people/oidc-config.ts';
import { availableCpus, resolveApiThreads } from './threads/sizing.ts';

/** The one configuration error: every invalid variable of this start, each named with its rule. */
export { SettingsError as ConfigError };
export type { Env, ListenAddress } from '@spike-ts/settings';

export type BackendKind = 'sqlite' | 'postgres' | 'memory';
/** Journal modes that keep acknowledged writes durable (MEMORY and OFF are refused). */
export type JournalMode = 'WAL' | 'DELETE' | 'TRUNCATE' | 'PERSIST';
export type { TrustRoots } from '@spike-ts/identity';

/** Where the PostgreSQL backend connects (`SPIKE_NEXUS_POSTGRES_*`). */
export interface PostgresConfig {
  readonly url: PostgresUrl;
  /** Absolute path of the password file, or undefined (no password authentication). */
  readonly passwordFile: string | undefined;
  readonly sslMode: PostgresSslModeName;
  /** Absolute path of the CA file, or undefined (the system's CA store). */
  readonly sslRootCert: string | undefined;
}

export interface DbConfig {
  readonly journalMode: JournalMode;
  readonly busyTimeoutMs: number;
  /**
   * PostgreSQL: the pooled connections of the whole process, shared by its API threads
   * (`postgresPool`, ADR 0047). SQLite: validated only (node:sqlite uses a single connection).
   */
  readonly maxOpenConns: number;
  readonly maxIdleConns: number;
  readonly connMaxLifetimeMs: number;
  readonly operationTimeoutMs: number;
  readonly initializationTimeoutMs: number;
  readonly skipSchemaCreation: boolean;
}

/** Per-caller request limits of the API (see `http/limits.ts`); 0 turns a limit off. */
export interface RateLimitConfig {
  /** Sustained requests per second per SPIFFE ID. */
  readonly requestsPerSecond: number;
  /** Requests a caller may send at once above the sustained rate (the bucket size). */
  readonly burst: number;
  /** Requests of one caller being handled at once. */
  readonly concurrency: number;
}

/** The people listener (`SPIKE_NEXUS_PEOPLE_*`, `SPIKE_NEXUS_OIDC_CONFIG`, ADR 0035). */
export interface PeopleConfig {
  readonly listen: ListenAddress;
  /** PEM text of the server certificate chain and key, read at start. */
  readonly certPem: string;
  readonly keyPem: string;
  readonly oidc: OidcConfig;
}

/** Where the checkpoint signing key is and how often checkpoints are written (ADR 0040). */
export interface AuditChainConfig {
  /** Path of the PKCS#8 PEM key, or null: a key of this process only (memory backend default). */
  readonly keyFile: string | null;
  readonly everyRecords: number;
  readonly intervalMs: number;
}

/** Audit shipping to a syslog aggregator (`SPIKE_NEXUS_AUDIT_SYSLOG*`, ADR 0029). */
export interface AuditSyslogConfig {
  readonly host: string;
  readonly port: number;
  /** `block`: mutations are refused while the aggregator cannot take records; `buffer`: not. */
  readonly policy: 'block' | 'buffer';
  readonly queueSize: number;
  /** RFC 5424 facility number. */
  readonly facility: number;
  /** PEM text read at start; null = plain TCP. */
  readonly tls: { readonly caPem: string; readonly certPem?: string; readonly keyPem?: string } | null;
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
   * Threads serving the API (`SPIKE_NEXUS_API_THREADS`: `auto`, the default, or 1..16), resolved
   * to a number (see `threads/sizing.ts`). Above 1, worker threads share the port and answer
   * secret reads themselves; everything else goes to the main thread.
   */
  readonly apiThreads: number;
  /** Whether `apiThreads` was sized automatically (`auto`) rather than set. */
  readonly apiThreadsAuto: boolean;
  readonly keeperUpdateIntervalMs: number;
  readonly keeperHeartbeatIntervalMs: number;
  /** Rows re-sealed per transaction by a root-key rotation (ADR 0044). */
  readonly rotationBatchSize: number;
  readonly db: DbConfig;
  /** Set exactly when the backend is `postgres`. */
  readonly postgres: PostgresConfig | undefined;
  readonly trustRoots: TrustRoots;
  readonly logLevel: LogLevel;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Time a client has to complete the TLS handshake on the API port. */
  readonly handshakeTimeoutMs: number;
  /** Connections the API listener holds at once (handshaking or not). */
  readonly maxConnections: number;
  /** Connections one SPIFFE ID holds at once on the API listener (0 = no cap). */
  readonly maxConnectionsPerCaller: number;
  /** Connections the health listener holds at once. */
  readonly healthMaxConnections: number;
  readonly rateLimit: RateLimitConfig;
  readonly audit: AuditTarget;
  /** null = audit records stay local. */
  readonly auditSyslog: AuditSyslogConfig | null;
  /** The audit chain's checkpoints (ADR 0040). */
  readonly auditChain: AuditChainConfig;
  /** null = health listener disabled. */
  readonly health: ListenAddress | null;
  /** null = no people listener (the default). */
  readonly people: PeopleConfig | null;
  /** Prometheus metrics at `GET /metrics` on the health listener (false with the listener off). */
  readonly metrics: boolean;
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
  /**
   * CPUs this Nexus may use, for `SPIKE_NEXUS_API_THREADS=auto`. Unset (an embedding that builds
   * its own configuration, whose API threads could not read its environment), `auto` means 1.
   */
  readonly cpus?: number;
}

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
  return loadConfig(process.env, { homeDir: homedir(), userName, cwd: process.cwd(), cpus: availableCpus() });
}

export function loadConfig(env: Env, options: LoadConfigOptions = {}): NexusConfig {
  const r = new SettingsReader(env);
  const backend = r.get(SPIKE_NEXUS_BACKEND_STORE);
  const { shares: shamirShares, threshold: shamirThreshold } = readShamirSplit(r);
  const shamirMaxShareCount = r.get(SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT);
  r.require(
    shamirMaxShareCount >= shamirShares,
    SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT,
    'must not be less than SPIKE_NEXUS_SHAMIR_SHARES',
    [SPIKE_NEXUS_SHAMIR_SHARES],
  );
  const apiThreadsSetting = r.get(SPIKE_NEXUS_API_THREADS);
  const maxOpenConns = r.get(SPIKE_NEXUS_DB_MAX_OPEN_CONNS);
  let apiThreads = resolveApiThreads(apiThreadsSetting, { backend, cpus: options.cpus });
  r.require(
    apiThreads === 1 || backend !== 'memory',
    SPIKE_NEXUS_API_THREADS,
    'above 1 needs SPIKE_NEXUS_BACKEND_STORE=sqlite or postgres',
    [SPIKE_NEXUS_BACKEND_STORE],
  );
  // On PostgreSQL the threads share the process's connection budget, at least one each (ADR 0047):
  // `auto` takes no more threads than connections; a number set above the budget is an error.
  if (backend === 'postgres') {
    if (apiThreadsSetting === 'auto') apiThreads = Math.min(apiThreads, maxOpenConns);
    r.require(
      apiThreads <= maxOpenConns,
      SPIKE_NEXUS_API_THREADS,
      'must not be greater than SPIKE_NEXUS_DB_MAX_OPEN_CONNS on PostgreSQL (the threads share those connections, at least one each)',
      [SPIKE_NEXUS_DB_MAX_OPEN_CONNS, SPIKE_NEXUS_BACKEND_STORE],
    );
  }
  const keeperPeers = readKeeperPeers(r, backend !== 'memory', shamirShares);
  const health = r.get(SPIKE_NEXUS_HEALTH_ADDR);
  // Metrics are on by default wherever there is a health listener to serve them; asking for them
  // explicitly with the listener off is a contradiction, not something to ignore.
  const metricsOn = r.get(SPIKE_NEXUS_METRICS) === 'on';
  r.require(
    !(metricsOn && health === null && r.isSet(SPIKE_NEXUS_METRICS)),
    SPIKE_NEXUS_METRICS,
    'must not be on while SPIKE_NEXUS_HEALTH_ADDR is off (metrics are served on the health listener)',
    [SPIKE_NEXUS_HEALTH_ADDR],
  );

  const headersTimeoutMs = r.get(SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT);
  const requestTimeoutMs = r.get(SPIKE_NEXUS_REQUEST_TIMEOUT);
  r.require(
    headersTimeoutMs <= requestTimeoutMs,
    SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT,
    'must not be longer than SPIKE_NEXUS_REQUEST_TIMEOUT',
    [SPIKE_NEXUS_REQUEST_TIMEOUT],
  );

  const maxIdleConns = r.get(SPIKE_NEXUS_DB_MAX_IDLE_CONNS);
  r.require(
    maxIdleConns <= maxOpenConns,
    SPIKE_NEXUS_DB_MAX_IDLE_CONNS,
    'must not be greater than SPIKE_NEXUS_DB_MAX_OPEN_CONNS',
    [SPIKE_NEXUS_DB_MAX_OPEN_CONNS],
  );
  const db: DbConfig = {
    journalMode: r.get(SPIKE_NEXUS_DB_JOURNAL_MODE),
    busyTimeoutMs: r.get(SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS),
    maxOpenConns,
    maxIdleConns,
    connMaxLifetimeMs: r.get(SPIKE_NEXUS_DB_CONN_MAX_LIFETIME),
    operationTimeoutMs: r.get(SPIKE_NEXUS_DB_OPERATION_TIMEOUT),
    initializationTimeoutMs: r.get(SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT),
    skipSchemaCreation: r.get(SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION),
  };
  const postgres = readPostgres(r, backend === 'postgres', options.cwd ?? '/');
  const dataDir = resolveDataDir(r, options);

  const config: NexusConfig = {
    listen: r.get(SPIKE_NEXUS_TLS_PORT),
    backend,
    apiThreads,
    apiThreadsAuto: apiThreadsSetting === 'auto',
    dataDir,
    maxSecretVersions: r.get(SPIKE_NEXUS_MAX_SECRET_VERSIONS),
    maxCipherSize: r.get(SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE),
    maxRequestBodySize: r.get(SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE),
    keeperPeers,
    shamirShares,
    shamirThreshold,
    shamirMaxShareCount,
    keeperUpdateIntervalMs: r.get(SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL),
    keeperHeartbeatIntervalMs: r.get(SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL),
    rotationBatchSize: r.get(SPIKE_NEXUS_ROOT_KEY_ROTATION_BATCH_SIZE),
    db,
    postgres,
    trustRoots: readTrustRoots(r),
    logLevel: r.get(SPIKE_SYSTEM_LOG_LEVEL) satisfies LogLevel,
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: r.get(SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT),
    handshakeTimeoutMs: r.get(SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT),
    maxConnections: r.get(SPIKE_NEXUS_MAX_CONNECTIONS),
    maxConnectionsPerCaller: r.get(SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER),
    healthMaxConnections: r.get(SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS),
    rateLimit: readRateLimit(r),
    audit: r.get(SPIKE_NEXUS_AUDIT_LOG) satisfies AuditTarget,
    auditSyslog: readAuditSyslog(r),
    auditChain: readAuditChain(r, dataDir, backend, options.cwd ?? '/'),
    health,
    people: readPeople(r),
    metrics: health !== null && metricsOn,
    spiffeEndpointSocket: r.get(SPIFFE_ENDPOINT_SOCKET),
    spiffeSourceTimeoutMs: r.get(SPIKE_SPIFFE_SOURCE_TIMEOUT),
  };
  r.done();
  return deepFreeze(config);
}

/** The contents of the file a setting names (PEM or other text), or undefined (with a problem naming it). */
function readPemFile(r: SettingsReader, setting: Setting<string>): string | undefined {
  const path = r.maybe(setting);
  if (path === undefined || !r.valid(setting)) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    r.problem(setting, `must be the path of a readable file (reading it failed: ${code})`);
    return undefined;
  }
}

/** At least one well-formed PEM certificate block, each a DER SEQUENCE (the TLS stack parses the rest). */
function isCertificatePem(text: string): boolean {
  try {
    const ders = pemToDer(text, 'CERTIFICATE');
    return ders.length > 0 && ders.every((der) => der[0] === 0x30);
  } catch {
    return false;
  }
}

function readAuditChain(r: SettingsReader, dataDir: string, backend: string, cwd: string): AuditChainConfig {
  const set = r.maybe(SPIKE_NEXUS_AUDIT_SIGNING_KEY);
  return {
    keyFile:
      set !== undefined
        ? resolve(cwd, set)
        : backend === 'memory'
          ? null
          : join(dataDir, 'audit-signing-key.pem'),
    everyRecords: r.get(SPIKE_NEXUS_AUDIT_CHECKPOINT_RECORDS),
    intervalMs: r.get(SPIKE_NEXUS_AUDIT_CHECKPOINT_INTERVAL),
  };
}

function readAuditSyslog(r: SettingsReader): AuditSyslogConfig | null {
  const target = r.get(SPIKE_NEXUS_AUDIT_SYSLOG);
  const tlsSettings = [
    SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA,
    SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT,
    SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY,
  ];
  if (target === null || !target.tls) {
    for (const s of tlsSettings) {
      r.require(!r.isSet(s), s, 'is only used with SPIKE_NEXUS_AUDIT_SYSLOG=tls://host:port', [
        SPIKE_NEXUS_AUDIT_SYSLOG,
      ]);
    }
  }
  const policy = r.get(SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN);
  const queueSize = r.get(SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE);
  const facility = SYSLOG_FACILITY_NAMES.indexOf(r.get(SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY));
  if (target === null) return null;
  let tls: AuditSyslogConfig['tls'] = null;
  if (target.tls) {
    r.require(
      r.isSet(SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA),
      SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA,
      'is required with SPIKE_NEXUS_AUDIT_SYSLOG=tls://host:port',
    );
    r.require(
      r.isSet(SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT) === r.isSet(SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY),
      r.isSet(SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT)
        ? SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY
        : SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT,
      'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT and SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY must be set together',
    );
    const caPem = readPemFile(r, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA);
    const certPem = readPemFile(r, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT);
    const keyPem = readPemFile(r, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY);
    if (caPem !== undefined) {
      if (!isCertificatePem(caPem)) {
        r.problem(SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA, 'must be a PEM file of CA certificates');
      }
    }
    if (certPem !== undefined && keyPem !== undefined) {
      try {
        createSecureContext({ cert: certPem, key: keyPem });
      } catch {
        r.problem(
          SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY,
          'must be the PEM private key of the PEM certificate in SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT',
        );
      }
    }
    tls = {
      caPem: caPem ?? '',
      ...(certPem === undefined || keyPem === undefined ? {} : { certPem, keyPem }),
    };
  }
  return { host: target.host, port: target.port, policy, queueSize, facility, tls };
}

/** The people listener's settings: all of them with `SPIKE_NEXUS_PEOPLE_LISTEN`, none without. */
function readPeople(r: SettingsReader): PeopleConfig | null {
  const listen = r.maybe(SPIKE_NEXUS_PEOPLE_LISTEN);
  const needed = [SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE, SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE, SPIKE_NEXUS_OIDC_CONFIG];
  if (listen === undefined) {
    for (const s of needed) {
      r.require(!r.isSet(s), s, 'is only used with SPIKE_NEXUS_PEOPLE_LISTEN (the people listener)', [
        SPIKE_NEXUS_PEOPLE_LISTEN,
      ]);
    }
    return null;
  }
  for (const s of needed) {
    r.require(r.isSet(s), s, 'is required with SPIKE_NEXUS_PEOPLE_LISTEN', [SPIKE_NEXUS_PEOPLE_LISTEN]);
  }
  const certPem = readPemFile(r, SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE);
  const keyPem = readPemFile(r, SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE);
  if (certPem !== undefined && !isCertificatePem(certPem)) {
    r.problem(SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE, 'must be a PEM file of the server certificate chain');
  } else if (certPem !== undefined && keyPem !== undefined) {
    try {
      createSecureContext({ cert: certPem, key: keyPem });
    } catch {
      r.problem(
        SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE,
        'must be the PEM private key of the certificate in SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE',
      );
    }
  }
  const oidcText = readPemFile(r, SPIKE_NEXUS_OIDC_CONFIG);
  let oidc: OidcConfig | undefined;
  if (oidcText !== undefined) {
    try {
      oidc = parseOidcConfig(oidcText);
    } catch (err) {
      if (!(err instanceof OidcConfigError)) throw err;
      r.problem(SPIKE_NEXUS_OIDC_CONFIG, `must be a valid OIDC configuration file: ${err.message}`);
    }
  }
  if (certPem === undefined || keyPem === undefined || oidc === undefined) return null;
  return { listen, certPem, keyPem, oidc };
}

/**
 * The `SPIKE_NEXUS_POSTGRES_*` settings; with `required` (the postgres backend) a missing URL is
 * reported. Relative file paths resolve against `cwd`. Also what `spike-nexus migrate` reads.
 */
export function readPostgres(r: SettingsReader, required: boolean, cwd: string): PostgresConfig | undefined {
  const url = r.maybe(SPIKE_NEXUS_POSTGRES_URL);
  const passwordFile = r.maybe(SPIKE_NEXUS_POSTGRES_PASSWORD_FILE);
  const sslMode = r.get(SPIKE_NEXUS_POSTGRES_SSLMODE);
  const sslRootCert = r.maybe(SPIKE_NEXUS_POSTGRES_SSLROOTCERT);
  if (!required) return undefined;
  r.require(
    r.isSet(SPIKE_NEXUS_POSTGRES_URL),
    SPIKE_NEXUS_POSTGRES_URL,
    'is required when SPIKE_NEXUS_BACKEND_STORE is postgres',
    [SPIKE_NEXUS_BACKEND_STORE],
  );
  if (url === undefined) return undefined;
  return {
    url,
    passwordFile: passwordFile === undefined ? undefined : resolve(cwd, passwordFile),
    sslMode,
    sslRootCert: sslRootCert === undefined ? undefined : resolve(cwd, sslRootCert),
  };
}

function readRateLimit(r: SettingsReader): RateLimitConfig {
  const requestsPerSecond = r.get(SPIKE_NEXUS_RATE_LIMIT_RPS);
  return {
    requestsPerSecond,
    burst: r.maybe(SPIKE_NEXUS_RATE_LIMIT_BURST) ?? Math.max(1, requestsPerSecond),
    concurrency: r.get(SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY),
  };
}

function resolveDataDir(r: SettingsReader, options: LoadConfigOptions): string {
  const raw = r.maybe(SPIKE_NEXUS_DATA_DIR);
  if (raw !== undefined) {
    const base = resolve(options.cwd ?? '/', raw);
    r.require(
      !(base === '/' || FORBIDDEN_DATA_DIRS.some((d) => base === d || base.startsWith(d + sep))),
      SPIKE_NEXUS_DATA_DIR,
      'must not be / or a system directory (/etc, /usr, /proc, /root, ...)',
    );
    return join(base, 'data');
  }
  if (options.homeDir !== undefined && isAbsolute(options.homeDir)) {
    return join(options.homeDir, '.spike', 'data');
  }
  return join('/tmp', `.spike-${options.userName ?? 'nexus'}`, 'data');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
