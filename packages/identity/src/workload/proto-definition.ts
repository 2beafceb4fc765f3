/**
 * Where the Workload API's protobuf definitions come from: `proto/workload.proto`, read and parsed
 * when first needed. The self-contained executable (scripts/exe/build.ts) replaces this one module
 * with a copy that carries the same definitions parsed at build time, because it reads no files
 * beside itself; both hand `@grpc/proto-loader` the same options.
 */
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

export const WORKLOAD_PROTO_PATH = path.join(import.meta.dirname, '..', '..', 'proto', 'workload.proto');

/** The package definition of `workload.proto` (and the `google.protobuf.Struct` it imports). */
export function workloadPackageDefinition(options: protoLoader.Options): protoLoader.PackageDefinition {
  return protoLoader.loadSync(WORKLOAD_PROTO_PATH, options);
}
