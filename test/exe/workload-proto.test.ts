/**
 * The self-contained executable carries the Workload API definitions parsed at build time
 * (scripts/exe/embedded/workload-proto-definition.ts) instead of reading `workload.proto`: both
 * must give gRPC the same services, methods and message descriptors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as protoLoader from '@grpc/proto-loader';
import { workloadProtoJson } from '../../scripts/exe/build.ts';
import { WORKLOAD_PROTO_PATH } from '@spike-ts/identity';

const OPTIONS = { keepCase: true, longs: String, defaults: true, oneofs: true };

/** Everything of a package definition but its functions and file descriptors (file names differ). */
function shape(def: protoLoader.PackageDefinition): unknown {
  return JSON.parse(
    JSON.stringify(def, (key, value: unknown) =>
      typeof value === 'function' || key === 'fileDescriptorProtos' ? undefined : value,
    ),
  );
}

describe('embedded Workload API definitions', () => {
  it('equal the ones proto-loader reads from workload.proto', () => {
    const fromFile = protoLoader.loadSync(WORKLOAD_PROTO_PATH, OPTIONS);
    const embedded = protoLoader.fromJSON(
      JSON.parse(JSON.stringify(workloadProtoJson())) as Parameters<typeof protoLoader.fromJSON>[0],
      OPTIONS,
    );
    assert.deepEqual(Object.keys(embedded).sort(), Object.keys(fromFile).sort());
    assert.deepEqual(shape(embedded), shape(fromFile));
    const service = embedded['SpiffeWorkloadAPI'] as Record<string, { path: string }>;
    assert.equal(service['FetchX509SVID']?.path, '/SpiffeWorkloadAPI/FetchX509SVID');
    assert.ok(Object.keys(embedded).includes('google.protobuf.Struct'));
  });
});
