/**
 * Turning the stored rows of one secret or policy into records, for every persistent backend:
 * the `secrets` row (head) is opened and checked to belong to its path, the version rows must be
 * exactly the versions the head lists, and each opened version must carry the times the head
 * lists for it. Anything that does not fit throws `StoreIntegrityError`.
 */
import type { PolicyRecord, SecretRecord, SecretVersion } from '@spike-ts/core';
import type { RowCodec, SecretHead } from './row-codec.ts';
import { StoreIntegrityError } from './store-error.ts';

/** One stored version row of a secret, as read. */
export interface VersionRow {
  readonly version: number;
  readonly envelope: Uint8Array;
}

/**
 * The record of `path` from its head envelope and its version rows (ascending). `lazy`: when the
 * head lists every version's times, versions are built from them and their rows are opened only
 * when a caller reads `data` (a write re-seals only the versions it changes, so a put opens none
 * of the versions it keeps). For writes only: integrity errors of unopened rows surface when (and
 * if) they are read.
 */
export function assembleSecret(
  codec: RowCodec,
  path: string,
  id: Uint8Array,
  headEnvelope: Uint8Array,
  rows: readonly VersionRow[],
  lazy = false,
): SecretRecord {
  const head = openHeadAt(codec, id, path, headEnvelope);
  if (rows.length !== head.versions.length || rows.some((r, i) => r.version !== head.versions[i])) {
    throw new StoreIntegrityError('table secret_versions: version rows do not match the secret');
  }
  const versions = rows.map((r, i) => {
    const known = head.times?.[i];
    if (known === undefined) return codec.openVersion(id, r.version, r.envelope);
    if (lazy) return lazyVersion(codec, id, r.version, r.envelope, known[0], known[1]);
    return checkTimes(codec.openVersion(id, r.version, r.envelope), known[0], known[1]);
  });
  return Object.freeze({ path, versions: Object.freeze(versions), metadata: head.metadata });
}

/** Opens a `secrets` row and checks it belongs to `path` (a row moved to another id fails). */
export function openHeadAt(codec: RowCodec, id: Uint8Array, path: string, envelope: Uint8Array): SecretHead {
  const head = codec.openHead(id, envelope);
  if (head.path !== path) throw new StoreIntegrityError('table secrets: row belongs to another path');
  return head;
}

/** Opens a `policies` row and checks it belongs to `name`. */
export function openPolicyAt(
  codec: RowCodec,
  id: Uint8Array,
  name: string,
  envelope: Uint8Array,
): PolicyRecord {
  const policy = codec.openPolicy(id, envelope);
  if (policy.name !== name) throw new StoreIntegrityError('table policies: row belongs to another policy');
  return policy;
}

/** The error for version rows whose `secrets` row is missing. */
export function orphanVersionsError(): StoreIntegrityError {
  return new StoreIntegrityError('table secret_versions: rows without a secrets row');
}

/** A version whose row is opened (and checked against the head's times) on first use of `data`. */
function lazyVersion(
  codec: RowCodec,
  id: Uint8Array,
  version: number,
  sealed: Uint8Array,
  createdTime: number,
  deletedTime: number | null,
): SecretVersion {
  let data: Readonly<Record<string, string>> | undefined;
  return Object.freeze({
    version,
    createdTime,
    deletedTime,
    get data(): Readonly<Record<string, string>> {
      data ??= checkTimes(codec.openVersion(id, version, sealed), createdTime, deletedTime).data;
      return data;
    },
  });
}

/** An opened version row must carry the times its secret's head lists for it. */
export function checkTimes(
  opened: SecretVersion,
  createdTime: number,
  deletedTime: number | null,
): SecretVersion {
  if (opened.createdTime !== createdTime || opened.deletedTime !== deletedTime) {
    throw new StoreIntegrityError(
      `table secret_versions, version ${opened.version}: times differ from the secret's`,
    );
  }
  return opened;
}
