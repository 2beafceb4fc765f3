// CA and SVID minting (development issuer, tests) is the separate entry `@spike-ts/identity/mint`.
export * from './types.ts';
export * from './spiffe-id.ts';
export * from './der.ts';
export * from './svid.ts';
export { parseGoDuration, formatDuration, DurationSyntaxError } from './workload/duration.ts';
export {
  parseWorkloadEndpoint,
  resolveWorkloadEndpoint,
  WorkloadEndpointError,
  DEFAULT_WORKLOAD_ENDPOINT,
  SPIFFE_ENDPOINT_SOCKET_ENV,
  MAX_UNIX_SOCKET_PATH_BYTES,
} from './workload/endpoint.ts';
export type { WorkloadEndpoint } from './workload/endpoint.ts';
export { structToJson, jsonToStruct } from './workload/struct.ts';
export type { JsonValue, JsonObject } from './workload/struct.ts';
export {
  loadWorkloadApi,
  workloadMetadata,
  WORKLOAD_SECURITY_HEADER,
  WORKLOAD_PROTO_PATH,
  SECURITY_HEADER_MISSING,
} from './workload/proto.ts';
export type {
  X509SvidMessage,
  X509SvidResponseMessage,
  X509BundlesResponseMessage,
  JwtSvidRequestMessage,
  JwtSvidMessage,
  JwtSvidResponseMessage,
  JwtBundlesResponseMessage,
  ValidateJwtSvidRequestMessage,
  ValidateJwtSvidResponseMessage,
  StructValueMessage,
  StructMessage,
  WorkloadApiDefinition,
} from './workload/proto.ts';
export { WorkloadApiClient, isGrpcStatusError } from './workload/workload-client.ts';
export type { WorkloadClientOptions, JwtSvid, ValidatedJwtSvid } from './workload/workload-client.ts';
export { fetchJwtSvid, validateJwtSvid, fetchJwtBundles, parseJwtBundles } from './workload/jwt.ts';
export type { JwtCallOptions } from './workload/jwt.ts';
export {
  createX509Source,
  sourceTimeoutMs,
  SOURCE_TIMEOUT_ENV,
  DEFAULT_SOURCE_TIMEOUT_MS,
} from './workload/x509-source.ts';
export type { X509SourceOptions } from './workload/x509-source.ts';
export { silentIdentityLogger } from './workload/logger.ts';
export type { IdentityLogger } from './workload/logger.ts';
export * from './roles.ts';
export * from './static-source.ts';
export * from './mtls.ts';
export * from './mtls-server.ts';
export * from './listener-limits.ts';
export * from './mtls-client.ts';
