/**
 * Replaces packages/identity/src/workload/proto-definition.ts inside the self-contained
 * executable: the Workload API's definitions, parsed from `workload.proto` at build time
 * (`workloadProtoJson` in ../build.ts) and carried in the bundle, so nothing is read from disk.
 */
import * as protoLoader from '@grpc/proto-loader';

type ProtoJson = Parameters<typeof protoLoader.fromJSON>[0];
/** Set by the bundler (esbuild `define`): the JSON text. */
declare const SPIKE_EXE_WORKLOAD_PROTO_JSON: string;

export const WORKLOAD_PROTO_PATH = 'workload.proto (built into this executable)';

export function workloadPackageDefinition(options: protoLoader.Options): protoLoader.PackageDefinition {
  return protoLoader.fromJSON(JSON.parse(SPIKE_EXE_WORKLOAD_PROTO_JSON) as ProtoJson, options);
}
