/**
 * Loads the Workload API from `proto/workload.proto` (`proto-definition.ts`; no code generation)
 * and declares the message shapes
 * as `@grpc/proto-loader` produces them (`keepCase`, `longs: String`, `defaults`, `oneofs`).
 */
import * as grpc from '@grpc/grpc-js';
import { WORKLOAD_PROTO_PATH, workloadPackageDefinition } from './proto-definition.ts';

export { WORKLOAD_PROTO_PATH };

/** Metadata every Workload API call must carry (value exactly `true`). */
export const WORKLOAD_SECURITY_HEADER = 'workload.spiffe.io';
export const SECURITY_HEADER_MISSING = 'security header missing from request';

export interface X509SvidMessage {
  spiffe_id: string;
  x509_svid: Uint8Array;
  x509_svid_key: Uint8Array;
  bundle: Uint8Array;
  hint: string;
}
export interface X509SvidResponseMessage {
  svids: X509SvidMessage[];
  crl: Uint8Array[];
  federated_bundles: Record<string, Uint8Array>;
}
export interface X509BundlesResponseMessage {
  crl: Uint8Array[];
  bundles: Record<string, Uint8Array>;
}
export interface JwtSvidRequestMessage {
  audience: string[];
  spiffe_id: string;
}
export interface JwtSvidMessage {
  spiffe_id: string;
  svid: string;
  hint: string;
}
export interface JwtSvidResponseMessage {
  svids: JwtSvidMessage[];
}
export interface JwtBundlesResponseMessage {
  bundles: Record<string, Uint8Array>;
}
export interface ValidateJwtSvidRequestMessage {
  audience: string;
  svid: string;
}

/** `google.protobuf.Value` as proto-loader represents it (one member set; `kind` names it). */
export interface StructValueMessage {
  kind?: string;
  nullValue?: number | string;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage | null;
  listValue?: { values?: StructValueMessage[] } | null;
}
export interface StructMessage {
  fields?: Record<string, StructValueMessage>;
}
export interface ValidateJwtSvidResponseMessage {
  spiffe_id: string;
  claims: StructMessage | null;
}

export interface WorkloadApiDefinition {
  service: grpc.ServiceDefinition;
  Client: grpc.ServiceClientConstructor;
}

let cached: WorkloadApiDefinition | undefined;

/** The `SpiffeWorkloadAPI` service definition and client constructor (loaded once). */
export function loadWorkloadApi(): WorkloadApiDefinition {
  if (cached !== undefined) return cached;
  const packageDefinition = workloadPackageDefinition({
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition);
  const Client = loaded['SpiffeWorkloadAPI'] as grpc.ServiceClientConstructor | undefined;
  if (Client === undefined) throw new Error(`SpiffeWorkloadAPI service not found in ${WORKLOAD_PROTO_PATH}`);
  cached = { service: Client.service, Client };
  return cached;
}

/** Metadata with the Workload API security header set. */
export function workloadMetadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(WORKLOAD_SECURITY_HEADER, 'true');
  return md;
}
