/**
 * Plans the rows one secret update writes: only what changed. A new version costs one version
 * row plus the `secrets` row (which lists the kept versions); versions the record no longer
 * keeps are deleted (real pruning). Everything is sealed here, before the transaction writes,
 * so an encryption failure affects only its own caller.
 */
import type { SecretRecord, SecretVersion } from '@spike-ts/core';
import { sameVersion } from './record-copy.ts';
import type { RowCodec } from './row-codec.ts';

export interface SecretWritePlan {
  readonly pathId: Uint8Array;
  /** New `secrets` envelope, undefined when nothing changed. */
  readonly head: Uint8Array | undefined;
  /** Version rows to insert or replace: [version, envelope]. */
  readonly versions: readonly (readonly [number, Uint8Array])[];
  /** Version rows to delete. */
  readonly removed: readonly number[];
}

export function planSecretWrite(
  codec: RowCodec,
  current: SecretRecord | undefined,
  next: SecretRecord,
  pathId: Uint8Array = codec.pathId(next.path),
): SecretWritePlan {
  const before = new Map<number, SecretVersion>((current?.versions ?? []).map((v) => [v.version, v]));
  const keep = new Set(next.versions.map((v) => v.version));
  const changed = next.versions.filter((v) => {
    const old = before.get(v.version);
    // Versions handed over unchanged (the same object) are not opened to be compared.
    return old === undefined || (old !== v && !sameVersion(old, v));
  });
  const removed = [...before.keys()].filter((n) => !keep.has(n));
  const metadataSame =
    current !== undefined && JSON.stringify(current.metadata) === JSON.stringify(next.metadata);
  if (metadataSame && changed.length === 0 && removed.length === 0) {
    return { pathId, head: undefined, versions: [], removed: [] };
  }
  return {
    pathId,
    head: codec.sealHead(pathId, {
      path: next.path,
      metadata: next.metadata,
      versions: next.versions.map((v) => v.version),
      times: next.versions.map((v) => [v.createdTime, v.deletedTime] as const),
    }),
    versions: changed.map((v) => [v.version, codec.sealVersion(pathId, v)] as const),
    removed,
  };
}
