/**
 * `@spike-ts/identity/client`: what a client of SPIKE (the SDK, the CLI) needs, and no server or
 * certificate-minting code: the Workload API X.509 source, the mTLS client, SPIFFE IDs and the
 * SPIKE roles. Servers and tools use the package's main entry point, which exports everything.
 */
export * from './types.ts';
export * from './spiffe-id.ts';
export * from './roles.ts';
export {
  parseWorkloadEndpoint,
  resolveWorkloadEndpoint,
  WorkloadEndpointError,
  DEFAULT_WORKLOAD_ENDPOINT,
  SPIFFE_ENDPOINT_SOCKET_ENV,
} from './workload/endpoint.ts';
export type { WorkloadEndpoint } from './workload/endpoint.ts';
export {
  createX509Source,
  sourceTimeoutMs,
  SOURCE_TIMEOUT_ENV,
  DEFAULT_SOURCE_TIMEOUT_MS,
} from './workload/x509-source.ts';
export type { X509SourceOptions } from './workload/x509-source.ts';
export { silentIdentityLogger } from './workload/logger.ts';
export type { IdentityLogger } from './workload/logger.ts';
export * from './mtls-client.ts';
