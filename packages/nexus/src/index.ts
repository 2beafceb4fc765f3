export { createNexus, NexusIdentityError, type Nexus, type NexusDeps } from './server.ts';
export {
  loadConfig,
  ConfigError,
  FORBIDDEN_DATA_DIRS,
  type NexusConfig,
  type AuditSyslogConfig,
  type PeopleConfig,
  type LoadConfigOptions,
  type BackendKind,
  type DbConfig,
  type JournalMode,
  type Env,
  type ListenAddress,
} from './config.ts';
export {
  availableCpus,
  resolveApiThreads,
  AUTO_API_THREADS_CAP,
  type ApiThreadsSetting,
} from './threads/sizing.ts';
export { createNexusState, NotReadyError, RootKeyConflictError, type NexusState } from './state.ts';
export { createPolicySync, type PolicySync, type PolicySyncOptions } from './policy-sync.ts';
export { createCustody } from './custody/index.ts';
export type { Custody, CustodyDeps, CustodyFactory, RestoreResult } from './custody-port.ts';
export {
  createAuditLog,
  openAuditSink,
  createMemoryAuditSink,
  teeAuditSinks,
  type AuditLog,
  type AuditRecord,
  type AuditSink,
  type AuditTarget,
  type AuditDecision,
} from './audit.ts';
export { createHealthServer, type HealthServerOptions } from './health.ts';
export {
  frameSyslog,
  openSyslogSink,
  type SyslogPolicy,
  type SyslogSink,
  type SyslogSinkOptions,
  type SyslogStats,
} from './audit-syslog.ts';
export { isMutating, openAuditOutput, type AuditOutput } from './audit-shipping.ts';
export { URL_METRICS, type MetricsEndpoint } from './health.ts';
export type { ThreadMetrics } from './metrics/thread-metrics.ts';
export { NEXUS_METRICS, type MetricDef } from './metrics/catalog.ts';
export { CALLER_ROLES } from './metrics/caller-role.ts';
export { KeyService, KEY_NAMESPACE, type KeyServiceOptions } from './keys/key-service.ts';
export type { KeyApprovalHook, KeyOperation } from './keys/approval-hook.ts';
export type { CallAsPerson, PersonCallResult } from './people/call-as-person.ts';
export { CONSOLE_PREFIX, bearerToken } from './people/people-listener.ts';
export {
  parseOidcConfig,
  OidcConfigError,
  ALLOWED_ALGORITHMS,
  type OidcConfig,
  type TrustedIssuer,
  type ConsoleClientConfig,
} from './people/oidc-config.ts';
export {
  createTokenValidator,
  type TokenValidator,
  type TokenResult,
  type TokenValidatorOptions,
} from './people/token-validator.ts';
export { queryAuditFile, type AuditQuery, type AuditQueryResult } from './audit-query.ts';
