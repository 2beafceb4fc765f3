/**
 * The one table of environment variables every SPIKE-TS component reads: name, default, rule,
 * one-line doc, origin and readers. Components read these only through `SettingsReader`, and
 * `docs/configuration.md` is generated from this file (`npm run docs:config`), so adding a
 * setting is one entry here (see docs/adr/0015-one-settings-table.md).
 */
import {
  auditSinkRule,
  autoOrIntRule,
  boolRule,
  choiceRule,
  durationRule,
  exactTrueRule,
  filePathRule,
  httpsUrlListRule,
  httpsUrlRule,
  intRule,
  listenOrOffRule,
  listenRule,
  nexusUrlListRule,
  pathRule,
  syslogTargetRule,
  postgresUrlRule,
  textRule,
  trustDomainListRule,
  type Rule,
} from './rules.ts';

/** Who reads a variable. `cli` is `spike` (SPIKE's Pilot); `sdk` is `@spike-ts/sdk`. */
export type Component = 'nexus' | 'keeper' | 'bootstrap' | 'cli' | 'sdk';

export const COMPONENTS: readonly Component[] = Object.freeze(['nexus', 'keeper', 'bootstrap', 'cli', 'sdk']);

export interface Setting<T> {
  readonly name: string;
  /** The default as an operator would write it (parsed by `rule`); undefined = none. */
  readonly default: string | undefined;
  /** How the docs show a default that is computed at start (`~/.spike`). */
  readonly defaultDoc?: string;
  readonly rule: Rule<T>;
  /** Extra conditions beyond `rule` (cross-variable checks), for the docs. */
  readonly also?: string;
  /** One line: what it does. */
  readonly doc: string;
  readonly origin: 'SPIKE' | 'SPIFFE' | 'ours';
  readonly readers: readonly Component[];
}

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';
export type BackendName = 'sqlite' | 'postgres' | 'memory';
export type PostgresSslModeName = 'disable' | 'require' | 'verify-ca' | 'verify-full';
export type JournalModeName = 'WAL' | 'DELETE' | 'TRUNCATE' | 'PERSIST';
export type SyslogPolicyName = 'block' | 'buffer';
export const SYSLOG_FACILITY_NAMES = Object.freeze([
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const);
/** Syslog facility names in RFC 5424 order: the index is the facility number. */
export type SyslogFacilityName = (typeof SYSLOG_FACILITY_NAMES)[number];

const MIB = 1024 * 1024;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ALL: readonly Component[] = COMPONENTS;

function setting<T>(s: Setting<T>): Setting<T> {
  return Object.freeze(s);
}

// ---- shared ------------------------------------------------------------------------------

export const SPIFFE_ENDPOINT_SOCKET = setting({
  name: 'SPIFFE_ENDPOINT_SOCKET',
  default: 'unix:///tmp/spire-agent/public/api.sock',
  rule: textRule,
  also: '`unix:///abs/path` or `tcp://<ip>:<port>`, checked when connecting',
  doc: 'Workload API address',
  origin: 'SPIFFE',
  readers: ALL,
});

export const SPIKE_SPIFFE_SOURCE_TIMEOUT = setting({
  name: 'SPIKE_SPIFFE_SOURCE_TIMEOUT',
  default: '30s',
  rule: durationRule(1, DAY),
  doc: 'How long to wait for the first X.509-SVID. SPIKE applies it in its SDK and bootstrap only; we apply it everywhere, so nothing hangs',
  origin: 'SPIKE',
  readers: ALL,
});

function trustRoot(suffix: string, doc: string): Setting<readonly string[]> {
  return setting({
    name: `SPIKE_TRUST_ROOT_${suffix}`,
    default: 'spike.ist',
    rule: trustDomainListRule,
    doc,
    origin: 'SPIKE',
    readers: ALL,
  });
}

export const SPIKE_TRUST_ROOT_NEXUS = trustRoot(
  'NEXUS',
  'Trust domains whose `…/spike/nexus[/…]` IDs are Nexus',
);
export const SPIKE_TRUST_ROOT_KEEPER = trustRoot('KEEPER', 'Same for `…/spike/keeper`');
export const SPIKE_TRUST_ROOT_BOOTSTRAP = trustRoot('BOOTSTRAP', 'Same for `…/spike/bootstrap`');
export const SPIKE_TRUST_ROOT_PILOT = trustRoot(
  'PILOT',
  'Same for `…/spike/pilot/role/{superuser,recover,restore}`',
);
export const SPIKE_TRUST_ROOT_LITE_WORKLOAD = trustRoot(
  'LITE_WORKLOAD',
  'Same for `…/spike/workload/role/lite`',
);

export const SPIKE_SYSTEM_LOG_LEVEL = setting<LogLevelName>({
  name: 'SPIKE_SYSTEM_LOG_LEVEL',
  default: 'WARN',
  rule: choiceRule<LogLevelName>(['debug', 'info', 'warn', 'error'], ['DEBUG', 'INFO', 'WARN', 'ERROR']),
  also: 'case-insensitive',
  doc: 'Operational log level; logs are JSON lines (Nexus and keeper: stdout; bootstrap: stderr)',
  origin: 'SPIKE',
  readers: ['nexus', 'keeper', 'bootstrap'],
});

export const SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT = setting({
  name: 'SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT',
  default: '10s',
  rule: durationRule(100, 10 * MINUTE),
  also: 'Nexus: ≤ `SPIKE_NEXUS_REQUEST_TIMEOUT`',
  doc: 'Time to receive the request headers, counted from the end of the TLS handshake for the first request (so also the idle timeout before it, as Go’s `ReadHeaderTimeout`) and from the first byte for later ones; held to within a second (Nexus API and health listener, keeper)',
  origin: 'SPIKE',
  readers: ['nexus', 'keeper'],
});

// ---- Nexus -------------------------------------------------------------------------------

export const SPIKE_NEXUS_TLS_PORT = setting({
  name: 'SPIKE_NEXUS_TLS_PORT',
  default: ':8553',
  rule: listenRule,
  doc: 'mTLS API listen address',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_BACKEND_STORE = setting<BackendName>({
  name: 'SPIKE_NEXUS_BACKEND_STORE',
  default: 'sqlite',
  rule: choiceRule<BackendName>(['sqlite', 'postgres', 'memory']),
  also: "case-insensitive; SPIKE's `lite` is refused; `postgres` needs `SPIKE_NEXUS_POSTGRES_URL`",
  doc: '`sqlite`: one file in the data directory. `postgres`: a PostgreSQL database (see [operations](operations.md#choosing-a-backend)). `memory`: nothing persists, no keepers, Nexus ready at start, and the bootstrap has nothing to do (exit 0)',
  origin: 'SPIKE',
  readers: ['nexus', 'bootstrap'],
});

export const SPIKE_NEXUS_DATA_DIR = setting({
  name: 'SPIKE_NEXUS_DATA_DIR',
  default: undefined,
  defaultDoc: '~/.spike',
  rule: pathRule,
  also: 'relative paths resolve against the working directory; `/`, `/etc`, `/sys`, `/proc`, `/dev`, `/bin`, `/sbin`, `/usr`, `/lib`, `/lib64`, `/boot`, `/root` (and below) are refused; without a home directory `/tmp/.spike-<user>`',
  doc: 'Parent of the data directory: the database is `<value>/data/spike.db` (dir 0700, files 0600)',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_POSTGRES_URL = setting({
  name: 'SPIKE_NEXUS_POSTGRES_URL',
  default: undefined,
  defaultDoc: 'none',
  rule: postgresUrlRule,
  also: 'required when `SPIKE_NEXUS_BACKEND_STORE=postgres`; a password in it is refused',
  doc: 'The PostgreSQL database: `postgresql://USER@HOST:PORT/DATABASE`, or `postgresql://USER@/DATABASE?host=/run/postgresql` for a unix socket. `PG*` variables and `~/.pgpass` are not read',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_POSTGRES_PASSWORD_FILE = setting({
  name: 'SPIKE_NEXUS_POSTGRES_PASSWORD_FILE',
  default: undefined,
  defaultDoc: 'none',
  rule: filePathRule,
  doc: "File holding the PostgreSQL role's password (one trailing newline is ignored); read whenever a new connection needs it, so a rotated file takes effect without a restart. Unset: no password authentication (e.g. peer authentication over a unix socket)",
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_POSTGRES_SSLMODE = setting<PostgresSslModeName>({
  name: 'SPIKE_NEXUS_POSTGRES_SSLMODE',
  default: 'verify-full',
  rule: choiceRule<PostgresSslModeName>(['disable', 'require', 'verify-ca', 'verify-full']),
  also: "libpq's `allow` and `prefer` are refused (they fall back to plain text); ignored for a unix socket",
  doc: 'TLS to PostgreSQL: `verify-full` checks the certificate chain and the host name, `verify-ca` the chain only, `require` encrypts without checking, `disable` sends plain text',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_POSTGRES_SSLROOTCERT = setting({
  name: 'SPIKE_NEXUS_POSTGRES_SSLROOTCERT',
  default: undefined,
  defaultDoc: "the system's CA store",
  rule: filePathRule,
  doc: "PEM file of the CAs that may sign the PostgreSQL server's certificate; unset: the system's CA store",
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_KEEPER_PEERS = setting({
  name: 'SPIKE_NEXUS_KEEPER_PEERS',
  default: undefined,
  rule: httpsUrlListRule,
  also: 'required unless the backend is `memory`; exactly `SPIKE_NEXUS_SHAMIR_SHARES` entries; Nexus and bootstrap must list the same keepers in the same order',
  doc: 'Keeper base URLs; keeper *i* (1-based position) holds share *i*, so never reorder the list',
  origin: 'SPIKE',
  readers: ['nexus', 'bootstrap'],
});

/** The cross-variable rules of `SPIKE_NEXUS_KEEPER_PEERS`, worded once for Nexus and bootstrap. */
export const KEEPERS_REQUIRED = 'is required when SPIKE_NEXUS_BACKEND_STORE is sqlite or postgres';
export function keeperCountRule(listed: number, shares: number): string {
  return (
    `must list exactly SPIKE_NEXUS_SHAMIR_SHARES keepers: it lists ${String(listed)} keeper(s) but ` +
    `SPIKE_NEXUS_SHAMIR_SHARES is ${String(shares)} (keeper i receives share i)`
  );
}

export const SPIKE_NEXUS_SHAMIR_SHARES = setting({
  name: 'SPIKE_NEXUS_SHAMIR_SHARES',
  default: '3',
  rule: intRule(1, 1000),
  doc: 'Number of shares *n* the root key is split into',
  origin: 'SPIKE',
  readers: ['nexus', 'bootstrap'],
});

export const SPIKE_NEXUS_SHAMIR_THRESHOLD = setting({
  name: 'SPIKE_NEXUS_SHAMIR_THRESHOLD',
  default: '2',
  rule: intRule(1, 1000),
  also: '≤ `SPIKE_NEXUS_SHAMIR_SHARES`',
  doc: 'Shares needed to rebuild the root key *t*',
  origin: 'SPIKE',
  readers: ['nexus', 'bootstrap'],
});

export const SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT = setting({
  name: 'SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT',
  default: '1000',
  rule: intRule(1, 1_000_000),
  also: '≥ `SPIKE_NEXUS_SHAMIR_SHARES`',
  doc: 'Highest share `id` restore accepts',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL = setting({
  name: 'SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL',
  default: '5m',
  rule: durationRule(SECOND, 7 * DAY),
  doc: "Periodic push of every keeper's share. We also push at once when the key is installed (SPIKE waits one interval)",
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL = setting({
  name: 'SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL',
  default: '10s',
  rule: durationRule(100, DAY),
  doc: "Between pushes, read each keeper's share, compare it (constant time) and re-seed a keeper that is empty or holds a wrong share",
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_ROOT_KEY_ROTATION_BATCH_SIZE = setting({
  name: 'SPIKE_NEXUS_ROOT_KEY_ROTATION_BATCH_SIZE',
  default: '200',
  rule: intRule(1, 10_000),
  doc: 'Rows re-sealed per transaction by a root-key rotation (`spike operator rotate-root-key`); smaller batches hold the write lock for less time, larger ones finish sooner',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_API_THREADS = setting({
  name: 'SPIKE_NEXUS_API_THREADS',
  default: 'auto',
  rule: autoOrIntRule(1, 16),
  also: 'above 1 needs `SPIKE_NEXUS_BACKEND_STORE=sqlite` or `postgres`; `auto` is one thread per available CPU (affinity and cgroup quota), at most 8, on SQLite and PostgreSQL, and 1 on the memory backend; on PostgreSQL at most `SPIKE_NEXUS_DB_MAX_OPEN_CONNS` (`auto` stops there)',
  doc: 'Threads serving the API. Above 1, worker threads share the API port and answer `secret get` themselves; everything else goes to the main thread. See [operations](operations.md#sizing-nexus-api-threads) and [ADR 0031](adr/0031-api-threads-by-default.md)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_MAX_SECRET_VERSIONS = setting({
  name: 'SPIKE_NEXUS_MAX_SECRET_VERSIONS',
  default: '10',
  rule: intRule(1, 10_000),
  doc: 'Versions kept per secret (captured when the secret is created)',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE = setting({
  name: 'SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE',
  default: '65536',
  rule: intRule(1, 64 * MIB),
  doc: 'Largest cipher-API plaintext in bytes (ciphertext: this + 16); also bounded by the body limit',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE = setting({
  name: 'SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE',
  default: '1048576',
  rule: intRule(1024, 1024 * MIB),
  doc: 'Largest request body in bytes; larger → 413 `api_body_too_large`',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_REQUEST_TIMEOUT = setting({
  name: 'SPIKE_NEXUS_REQUEST_TIMEOUT',
  default: '30s',
  rule: durationRule(1, DAY),
  doc: 'Time to receive the whole request (headers and body), counted as the header timeout; held to within a second',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT = setting({
  name: 'SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT',
  default: '65s',
  rule: durationRule(1, DAY),
  doc: 'Idle keep-alive connections are closed after this',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT = setting({
  name: 'SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT',
  default: '10s',
  rule: durationRule(1, HOUR),
  doc: 'Time a client has to complete the TLS handshake on the API port, counted from the TCP connection',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_MAX_CONNECTIONS = setting({
  name: 'SPIKE_NEXUS_MAX_CONNECTIONS',
  default: '1024',
  rule: intRule(1, 1_000_000),
  doc: 'Connections the API listener holds at once, handshaking or not; more are closed as they arrive. Keep the sum of the caps below the open-file limit. See [operations](operations.md#connection-limits-and-rate-limits)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER = setting({
  name: 'SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER',
  default: '128',
  rule: intRule(0, 1_000_000),
  doc: 'Connections one SPIFFE ID holds at once on the API listener (`0` = no cap); more are closed right after the handshake',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS = setting({
  name: 'SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS',
  default: '64',
  rule: intRule(1, 1_000_000),
  doc: 'Connections the health listener holds at once (it answers one request per connection)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_RATE_LIMIT_RPS = setting({
  name: 'SPIKE_NEXUS_RATE_LIMIT_RPS',
  default: '0',
  rule: intRule(0, 1_000_000),
  doc: 'Sustained requests per second per SPIFFE ID (`0` = no rate limit); over it: 429 `api_rate_limited` with `Retry-After`. With API threads each thread enforces its share. See [operations](operations.md#connection-limits-and-rate-limits) and [ADR 0021](adr/0021-connection-and-rate-limits.md)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_RATE_LIMIT_BURST = setting({
  name: 'SPIKE_NEXUS_RATE_LIMIT_BURST',
  default: undefined,
  defaultDoc: 'the rate (at least 1)',
  rule: intRule(1, 1_000_000),
  doc: 'Requests one SPIFFE ID may send at once above the sustained rate (the token bucket size)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY = setting({
  name: 'SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY',
  default: '0',
  rule: intRule(0, 100_000),
  doc: 'Requests of one SPIFFE ID being handled at once (`0` = no cap); over it: 429 `api_rate_limited` with `Retry-After: 1`',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_HEALTH_ADDR = setting({
  name: 'SPIKE_NEXUS_HEALTH_ADDR',
  default: ':8554',
  rule: listenOrOffRule,
  doc: 'Plain-HTTP `/healthz`, `/readyz` (and `/metrics`, see `SPIKE_NEXUS_METRICS`) listener address, or `off`. Prefer a private address such as `127.0.0.1:8554`',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_METRICS = setting<'on' | 'off'>({
  name: 'SPIKE_NEXUS_METRICS',
  default: 'on',
  rule: choiceRule<'on' | 'off'>(['on', 'off']),
  also: 'case-insensitive; `on` set explicitly needs the health listener (`SPIKE_NEXUS_HEALTH_ADDR` not `off`)',
  doc: 'Prometheus metrics at `GET /metrics` on the health listener (counts and timings by route, action, status and caller role; never a secret path, policy name or value), or `off`. See [operations](operations.md#metrics) and [ADR 0027](adr/0027-prometheus-metrics-on-the-health-listener.md)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_LOG = setting({
  name: 'SPIKE_NEXUS_AUDIT_LOG',
  default: 'stderr',
  rule: auditSinkRule,
  doc: 'Audit sink; a file is appended to and created 0600',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SYSLOG = setting({
  name: 'SPIKE_NEXUS_AUDIT_SYSLOG',
  default: 'off',
  rule: syslogTargetRule,
  doc: 'Also ship every audit record to a syslog aggregator: RFC 5424 over TCP (octet-counted), `tls://` verifies the server against `SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA` and its name. See [operations](operations.md#audit-shipping) and [ADR 0029](adr/0029-audit-shipping-over-syslog.md)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN = setting<SyslogPolicyName>({
  name: 'SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN',
  default: 'block',
  rule: choiceRule<SyslogPolicyName>(['block', 'buffer']),
  doc: 'While the aggregator cannot take records (disconnected or queue full): `block` refuses mutations with 503 `state_not_ready` (fail closed; reads go on), `buffer` keeps serving and counts the records that do not fit the queue as dropped',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE = setting({
  name: 'SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE',
  default: '10000',
  rule: intRule(1, 1_000_000),
  doc: 'Audit records held in memory for the aggregator; a record that finds the queue full is dropped and counted',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY = setting<SyslogFacilityName>({
  name: 'SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY',
  default: 'authpriv',
  rule: choiceRule<SyslogFacilityName>(SYSLOG_FACILITY_NAMES),
  doc: 'Syslog facility of the audit records (severity is always informational)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA = setting({
  name: 'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA',
  default: undefined,
  defaultDoc: 'none',
  rule: filePathRule,
  also: 'required with `tls://`; read at start',
  doc: "PEM file of the CA certificates that sign the aggregator's certificate",
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT = setting({
  name: 'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT',
  default: undefined,
  defaultDoc: 'none (no client certificate)',
  rule: filePathRule,
  also: 'only with `tls://`, together with `SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY`',
  doc: 'PEM client certificate (chain) Nexus presents to the aggregator, if it asks for one',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_PEOPLE_LISTEN = setting({
  name: 'SPIKE_NEXUS_PEOPLE_LISTEN',
  default: undefined,
  defaultDoc: 'unset (off)',
  rule: listenRule,
  also: 'needs `SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE`, `SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE` and `SPIKE_NEXUS_OIDC_CONFIG`',
  doc: 'Address of the people listener: HTTPS for people with OIDC access tokens (and the web console). Unset: no people listener. See [people](people.md)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE = setting({
  name: 'SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE',
  default: undefined,
  defaultDoc: 'none',
  rule: filePathRule,
  doc: "PEM server certificate chain of the people listener (the operator's certificate for its DNS name)",
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE = setting({
  name: 'SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE',
  default: undefined,
  defaultDoc: 'none',
  rule: filePathRule,
  doc: 'PEM private key of that certificate',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_OIDC_CONFIG = setting({
  name: 'SPIKE_NEXUS_OIDC_CONFIG',
  default: undefined,
  defaultDoc: 'none',
  rule: filePathRule,
  doc: 'JSON file of the trusted OIDC issuers (issuer, audience, algorithms, claims, lifetime, admin and auditor groups) and the console client. See [people](people.md#the-oidc-configuration-file)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY = setting({
  name: 'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY',
  default: undefined,
  defaultDoc: 'none',
  rule: filePathRule,
  also: 'together with `SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT`',
  doc: 'PEM private key of that client certificate',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_SIGNING_KEY = setting({
  name: 'SPIKE_NEXUS_AUDIT_SIGNING_KEY',
  default: undefined,
  defaultDoc:
    '`<data directory>/audit-signing-key.pem`; with the memory backend a key that lives as long as the process',
  rule: filePathRule,
  also: 'created (0600, Ed25519) when missing; refused when group or others may read it; the public key is written beside it as `<path>.pub`',
  doc: 'PKCS#8 PEM Ed25519 key that signs the audit checkpoints. See [operations](operations.md#audit-verification) and [ADR 0040](adr/0040-verifiable-audit-chain.md)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_CHECKPOINT_RECORDS = setting({
  name: 'SPIKE_NEXUS_AUDIT_CHECKPOINT_RECORDS',
  default: '1000',
  rule: intRule(1, 1_000_000),
  doc: 'A signed checkpoint follows at most this many audit records',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_AUDIT_CHECKPOINT_INTERVAL = setting({
  name: 'SPIKE_NEXUS_AUDIT_CHECKPOINT_INTERVAL',
  default: '1m',
  rule: durationRule(SECOND, DAY),
  doc: 'A signed checkpoint follows any audit record within this time (nothing is written while no records come)',
  origin: 'ours',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_JOURNAL_MODE = setting<JournalModeName>({
  name: 'SPIKE_NEXUS_DB_JOURNAL_MODE',
  default: 'WAL',
  rule: choiceRule<JournalModeName>(['WAL', 'DELETE', 'TRUNCATE', 'PERSIST']),
  also: '`MEMORY` and `OFF` are refused: they lose acknowledged writes',
  doc: 'SQLite journal mode',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS = setting({
  name: 'SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS',
  default: '5000',
  rule: intRule(0, 600_000),
  doc: 'How long a write waits for a lock, in milliseconds (SQLite: `busy_timeout`; PostgreSQL: `lock_timeout`)',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_MAX_OPEN_CONNS = setting({
  name: 'SPIKE_NEXUS_DB_MAX_OPEN_CONNS',
  default: '10',
  rule: intRule(1, 10_000),
  also: 'on PostgreSQL ≥ the API threads (`auto` takes no more threads than this)',
  doc: 'PostgreSQL: most pooled connections per Nexus process, shared by its API threads (the main thread gets the remainder; plus one listening connection per thread; [ADR 0047](adr/0047-postgresql-connections-per-process.md)). SQLite: validated for compatibility, **no effect** (`node:sqlite` uses one connection)',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_MAX_IDLE_CONNS = setting({
  name: 'SPIKE_NEXUS_DB_MAX_IDLE_CONNS',
  default: '5',
  rule: intRule(0, 10_000),
  also: '≤ `SPIKE_NEXUS_DB_MAX_OPEN_CONNS`',
  doc: 'Validated, no effect (PostgreSQL: idle connections close after 30 s instead)',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_CONN_MAX_LIFETIME = setting({
  name: 'SPIKE_NEXUS_DB_CONN_MAX_LIFETIME',
  default: '1h',
  rule: durationRule(0, 30 * DAY),
  doc: 'PostgreSQL: a pooled connection older than this is closed once idle (0 = never). SQLite: validated, no effect',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_OPERATION_TIMEOUT = setting({
  name: 'SPIKE_NEXUS_DB_OPERATION_TIMEOUT',
  default: '15s',
  rule: durationRule(1, DAY),
  doc: 'PostgreSQL: longest statement (`statement_timeout`) and longest wait for a pooled connection. SQLite: validated, no effect',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT = setting({
  name: 'SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT',
  default: '30s',
  rule: durationRule(1, DAY),
  doc: 'PostgreSQL: how long start-up (and `spike-nexus migrate`) keeps trying to reach a database that refuses connections. SQLite: validated, no effect',
  origin: 'SPIKE',
  readers: ['nexus'],
});

export const SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION = setting({
  name: 'SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION',
  default: 'false',
  rule: boolRule,
  doc: 'PostgreSQL: `true` = Nexus never runs DDL and refuses to start unless `spike-nexus migrate` brought the schema to the version it needs. SQLite: validated, no effect (migrations always run at open)',
  origin: 'SPIKE',
  readers: ['nexus'],
});

// ---- keeper ------------------------------------------------------------------------------

export const SPIKE_KEEPER_TLS_PORT = setting({
  name: 'SPIKE_KEEPER_TLS_PORT',
  default: ':8443',
  rule: listenRule,
  doc: 'Keeper mTLS listen address',
  origin: 'SPIKE',
  readers: ['keeper'],
});

// ---- bootstrap ---------------------------------------------------------------------------

export const SPIKE_NEXUS_API_URL = setting({
  name: 'SPIKE_NEXUS_API_URL',
  default: 'https://localhost:8553',
  rule: nexusUrlListRule,
  doc: 'Nexus base URL, or several separated by commas (replicas on one database): SDK and CLI fail over between them (ADR 0033); bootstrap asks each one in the live-system check and takes the proof of possession from any one',
  origin: 'SPIKE',
  readers: ['bootstrap', 'cli', 'sdk'],
});

export const SPIKE_BOOTSTRAP_FORCE = setting({
  name: 'SPIKE_BOOTSTRAP_FORCE',
  default: 'false',
  rule: exactTrueRule,
  doc: '`true` skips the live-system check (same as `--force`)',
  origin: 'SPIKE',
  readers: ['bootstrap'],
});

export const SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES = setting({
  name: 'SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES',
  default: '5',
  rule: intRule(1, 1000),
  doc: 'Attempts per keeper',
  origin: 'SPIKE',
  readers: ['bootstrap'],
});

export const SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL = setting({
  name: 'SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL',
  default: '2s',
  rule: durationRule(1, DAY),
  doc: 'First backoff between attempts',
  origin: 'SPIKE',
  readers: ['bootstrap'],
});

export const SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL = setting({
  name: 'SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL',
  default: '30s',
  rule: durationRule(1, DAY),
  also: '≥ `SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL`',
  doc: 'Backoff cap',
  origin: 'SPIKE',
  readers: ['bootstrap'],
});

export const SPIKE_BOOTSTRAP_KEEPER_TIMEOUT = setting({
  name: 'SPIKE_BOOTSTRAP_KEEPER_TIMEOUT',
  default: '30s',
  rule: durationRule(1, DAY),
  doc: 'Deadline per keeper (all attempts); also bounds the live-system probes',
  origin: 'SPIKE',
  readers: ['bootstrap'],
});

export const SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT = setting({
  name: 'SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT',
  default: '30m',
  rule: durationRule(1, DAY),
  doc: "How long to wait for Nexus's proof of possession (backoff 500 ms doubling to 60 s)",
  origin: 'SPIKE',
  readers: ['bootstrap'],
});

export const SPIKE_BOOTSTRAP_TIMEOUT = setting({
  name: 'SPIKE_BOOTSTRAP_TIMEOUT',
  default: '0',
  rule: durationRule(0, DAY),
  doc: 'Overall time limit, `0` = none; exceeded → exit 1',
  origin: 'SPIKE',
  readers: ['bootstrap'],
});

// ---- CLI and SDK -------------------------------------------------------------------------

export const SPIKE_HTTP_CLIENT_TIMEOUT = setting({
  name: 'SPIKE_HTTP_CLIENT_TIMEOUT',
  default: '60s',
  rule: durationRule(1, DAY),
  doc: 'Whole-request timeout of the CLI and SDK (SDK options override it)',
  origin: 'SPIKE',
  readers: ['cli', 'sdk'],
});

export const SPIKE_PILOT_RECOVERY_DIR = setting({
  name: 'SPIKE_PILOT_RECOVERY_DIR',
  default: undefined,
  defaultDoc: '~/.spike',
  rule: pathRule,
  doc: 'Parent of the recovery directory: shard files go to `<value>/recover`',
  origin: 'SPIKE',
  readers: ['cli'],
});

export const SPIKE_PEOPLE_URL = setting({
  name: 'SPIKE_PEOPLE_URL',
  default: undefined,
  defaultDoc: 'unset',
  rule: httpsUrlRule,
  doc: "Base URL of Nexus's people listener: `spike login` stores it, and commands use it with the login's bearer token when `SPIFFE_ENDPOINT_SOCKET` is unset (ADR 0037)",
  origin: 'ours',
  readers: ['cli'],
});

export const SPIKE_PEOPLE_CA_FILE = setting({
  name: 'SPIKE_PEOPLE_CA_FILE',
  default: undefined,
  defaultDoc: "the system's CAs",
  rule: filePathRule,
  doc: "PEM CA file for the people listener's server certificate",
  origin: 'ours',
  readers: ['cli'],
});

export const SPIKE_OIDC_ISSUER = setting({
  name: 'SPIKE_OIDC_ISSUER',
  default: undefined,
  defaultDoc: 'unset',
  rule: textRule,
  doc: '`spike login`: the OpenID Connect issuer URL (`https://`; plain `http://` only on a loopback address)',
  origin: 'ours',
  readers: ['cli'],
});

export const SPIKE_OIDC_CLIENT_ID = setting({
  name: 'SPIKE_OIDC_CLIENT_ID',
  default: 'spike-cli',
  rule: textRule,
  doc: "`spike login`: the CLI's (public) client ID at the issuer",
  origin: 'ours',
  readers: ['cli'],
});

/** Every setting, in the order the docs list them. */
export const SETTINGS: readonly Setting<unknown>[] = Object.freeze([
  SPIFFE_ENDPOINT_SOCKET,
  SPIKE_SPIFFE_SOURCE_TIMEOUT,
  SPIKE_TRUST_ROOT_NEXUS,
  SPIKE_TRUST_ROOT_KEEPER,
  SPIKE_TRUST_ROOT_BOOTSTRAP,
  SPIKE_TRUST_ROOT_PILOT,
  SPIKE_TRUST_ROOT_LITE_WORKLOAD,
  SPIKE_SYSTEM_LOG_LEVEL,
  SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT,
  SPIKE_NEXUS_TLS_PORT,
  SPIKE_NEXUS_BACKEND_STORE,
  SPIKE_NEXUS_DATA_DIR,
  SPIKE_NEXUS_POSTGRES_URL,
  SPIKE_NEXUS_POSTGRES_PASSWORD_FILE,
  SPIKE_NEXUS_POSTGRES_SSLMODE,
  SPIKE_NEXUS_POSTGRES_SSLROOTCERT,
  SPIKE_NEXUS_KEEPER_PEERS,
  SPIKE_NEXUS_SHAMIR_SHARES,
  SPIKE_NEXUS_SHAMIR_THRESHOLD,
  SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT,
  SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL,
  SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL,
  SPIKE_NEXUS_ROOT_KEY_ROTATION_BATCH_SIZE,
  SPIKE_NEXUS_API_THREADS,
  SPIKE_NEXUS_MAX_SECRET_VERSIONS,
  SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE,
  SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE,
  SPIKE_NEXUS_REQUEST_TIMEOUT,
  SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT,
  SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT,
  SPIKE_NEXUS_MAX_CONNECTIONS,
  SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER,
  SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS,
  SPIKE_NEXUS_RATE_LIMIT_RPS,
  SPIKE_NEXUS_RATE_LIMIT_BURST,
  SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY,
  SPIKE_NEXUS_HEALTH_ADDR,
  SPIKE_NEXUS_METRICS,
  SPIKE_NEXUS_AUDIT_LOG,
  SPIKE_NEXUS_PEOPLE_LISTEN,
  SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE,
  SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE,
  SPIKE_NEXUS_OIDC_CONFIG,
  SPIKE_NEXUS_AUDIT_SYSLOG,
  SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN,
  SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE,
  SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY,
  SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA,
  SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT,
  SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY,
  SPIKE_NEXUS_AUDIT_SIGNING_KEY,
  SPIKE_NEXUS_AUDIT_CHECKPOINT_RECORDS,
  SPIKE_NEXUS_AUDIT_CHECKPOINT_INTERVAL,
  SPIKE_NEXUS_DB_JOURNAL_MODE,
  SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS,
  SPIKE_NEXUS_DB_MAX_OPEN_CONNS,
  SPIKE_NEXUS_DB_MAX_IDLE_CONNS,
  SPIKE_NEXUS_DB_CONN_MAX_LIFETIME,
  SPIKE_NEXUS_DB_OPERATION_TIMEOUT,
  SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT,
  SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION,
  SPIKE_KEEPER_TLS_PORT,
  SPIKE_NEXUS_API_URL,
  SPIKE_BOOTSTRAP_FORCE,
  SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES,
  SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL,
  SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL,
  SPIKE_BOOTSTRAP_KEEPER_TIMEOUT,
  SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT,
  SPIKE_BOOTSTRAP_TIMEOUT,
  SPIKE_HTTP_CLIENT_TIMEOUT,
  SPIKE_PILOT_RECOVERY_DIR,
  SPIKE_PEOPLE_URL,
  SPIKE_PEOPLE_CA_FILE,
  SPIKE_OIDC_ISSUER,
  SPIKE_OIDC_CLIENT_ID,
] as Setting<unknown>[]);
