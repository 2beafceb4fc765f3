// The main entry: everything a client needs (`./client.ts`, also its own entry
// `@spike-ts/identity/client`) plus what servers and tools use. CA and SVID minting (development
// issuer, tests) is the separate entry `@spike-ts/identity/mint`.
export * from './client.ts';
export * from './der.ts';
export * from './svid.ts';
export { parseGoDuration, formatDuration, DurationSyntaxError } from './workload/duration.ts';
export { MAX_UNIX_SOCKET_PATH_BYTES } from './workload/endpoint.ts';
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
export * from './static-source.ts';
export * from './mtls.ts';
export * from './mtls-server.ts';
export * from './listener-limits.ts';
