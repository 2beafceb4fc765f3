/**
 * Secret versioning rules (SPIKE 0.8.2 semantics, without its bugs). Pure functions over
 * `SecretRecord`; every time is an epoch-milliseconds parameter. Records are never mutated: each
 * change returns a new record.
 *
 * Invariants every function keeps (and the property tests check):
 * - `versions` is sorted ascending, with unique version numbers, at most `maxVersions` of them;
 * - `currentVersion` is the highest live (not deleted) version, or 0 when none is live;
 * - `oldestVersion` is the lowest live version, or 0 when none is live;
 * - version numbers are never reused: a new version is one above the highest one kept.
 *
 * Differences from SPIKE (deliberate):
 * - pruning really removes the oldest versions from the record (SPIKE's SQLite backend keeps them);
 * - a new version is numbered above every kept version, so a deleted version above the current
 *   one is never overwritten by a later put (SPIKE reuses `current + 1`);
 * - undelete of "current" (`[]` or `0`) on a fully deleted secret revives the highest deleted
 *   version (SPIKE's CLI sends `[0]`, which SPIKE skips, so it cannot revive such a secret);
 * - re-deleting an already deleted version keeps its first deletion time, and `updatedTime`
 *   changes on every effective delete/undelete.
 */
import { NotFoundError, type SecretMetaDataContent, type SecretVersionInfo } from '@spike-ts/protocol';
import type { SecretMetadata, SecretRecord, SecretVersion } from './model.ts';
import type { SecretVersionRead } from './store-port.ts';

/** The secret, or the requested version of it, does not exist (404 `api_not_found`): a spine error. */
export { NotFoundError };

export interface SecretChange {
  readonly record: SecretRecord;
  /** False when nothing was changed (the caller may skip the write). */
  readonly changed: boolean;
}

/** The metadata route's body content: versions keyed by their real numbers. */
export interface SecretMetadataView {
  versions: Record<string, SecretVersionInfo>;
  metadata: SecretMetaDataContent;
}

/**
 * RFC 3339 in UTC the way Go's `time.Time` marshals it (RFC3339Nano: fractional seconds with
 * trailing zeros dropped, none when whole), e.g. `2025-01-02T03:04:05.12Z`.
 */
export function formatRfc3339(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // yyyy-mm-ddThh:mm:ss.sssZ
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return iso.slice(0, 19) + (fraction === '' ? '' : '.' + fraction) + 'Z';
}

function highestLive(versions: readonly SecretVersion[]): number {
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i];
    if (v !== undefined && v.deletedTime === null) return v.version;
  }
  return 0;
}

function lowestLive(versions: readonly SecretVersion[]): number {
  for (const v of versions) if (v.deletedTime === null) return v.version;
  return 0;
}

function withVersions(
  record: SecretRecord,
  versions: readonly SecretVersion[],
  meta: Partial<SecretMetadata>,
): SecretRecord {
  return {
    path: record.path,
    versions,
    metadata: {
      ...record.metadata,
      ...meta,
      currentVersion: highestLive(versions),
      oldestVersion: lowestLive(versions),
    },
  };
}

function requireRecord(record: SecretRecord | undefined): SecretRecord {
  if (record === undefined) throw new NotFoundError('secret not found');
  return record;
}

/**
 * Store `values` as a new version. The first version is 1. A record keeps at most `maxVersions`
 * versions (the value captured in its metadata when it was created, as SPIKE does; the parameter
 * sets it for a new secret or repairs a record without a valid one); the lowest numbers are pruned.
 */
export function putSecretVersion(
  current: SecretRecord | undefined,
  path: string,
  values: Readonly<Record<string, string>>,
  now: number,
  maxVersions: number,
): SecretRecord {
  if (!Number.isSafeInteger(maxVersions) || maxVersions < 1) {
    throw new RangeError('maxVersions must be an integer >= 1');
  }
  const data = Object.freeze({ ...values });
  if (current === undefined) {
    const version: SecretVersion = { version: 1, data, createdTime: now, deletedTime: null };
    return {
      path,
      versions: [version],
      metadata: { currentVersion: 1, oldestVersion: 1, createdTime: now, updatedTime: now, maxVersions },
    };
  }
  const keep =
    Number.isSafeInteger(current.metadata.maxVersions) && current.metadata.maxVersions >= 1
      ? current.metadata.maxVersions
      : maxVersions;
  const last = current.versions[current.versions.length - 1];
  const next = Math.max(current.metadata.currentVersion, last?.version ?? 0) + 1;
  const versions = [...current.versions, { version: next, data, createdTime: now, deletedTime: null }];
  const pruned = versions.length > keep ? versions.slice(versions.length - keep) : versions;
  return withVersions({ ...current, path }, pruned, { updatedTime: now, maxVersions: keep });
}

/**
 * The one place "version 0 means the current version" is decided (SPIKE's rule for get,
 * metadata, delete and undelete; absent counts as 0). The answer is 0 only when the secret has
 * no current version (every version deleted).
 */
export function resolveVersion(version: number | undefined, currentVersion: number): number {
  return version === undefined || version === 0 ? currentVersion : version;
}

/** Resolve `0` (and an empty list) to the current version, dropping duplicates. */
function targets(versions: readonly number[], current: number): Set<number> {
  if (versions.length === 0) return new Set([current]);
  return new Set(versions.map((v) => resolveVersion(v, current)));
}

/**
 * Soft-delete versions. An empty list or `0` means the current version; versions that do not
 * exist are ignored. Throws `NotFoundError` when the secret does not exist.
 */
export function deleteSecretVersions(
  current: SecretRecord | undefined,
  versions: readonly number[],
  now: number,
): SecretChange {
  const record = requireRecord(current);
  const wanted = targets(versions, record.metadata.currentVersion);
  let changed = false;
  const next = record.versions.map((v) => {
    if (v.deletedTime !== null || !wanted.has(v.version)) return v;
    changed = true;
    return { ...v, deletedTime: now };
  });
  if (!changed) return { record, changed: false };
  return { record: withVersions(record, next, { updatedTime: now }), changed: true };
}

/**
 * Restore soft-deleted versions. An empty list or `0` means the current version; when every
 * version is deleted (current is 0) it means the highest deleted version. An undeleted version
 * above the current one becomes current. Throws `NotFoundError` when the secret does not exist or
 * nothing was undeleted.
 */
export function undeleteSecretVersions(
  current: SecretRecord | undefined,
  versions: readonly number[],
  now: number,
): SecretChange {
  const record = requireRecord(current);
  let currentVersion = record.metadata.currentVersion;
  if (currentVersion === 0) {
    const last = record.versions[record.versions.length - 1];
    currentVersion = last?.version ?? 0; // all deleted: "current" means the highest deleted one
  }
  const wanted = targets(versions, currentVersion);
  let changed = false;
  const next = record.versions.map((v) => {
    if (v.deletedTime === null || !wanted.has(v.version)) return v;
    changed = true;
    return { ...v, deletedTime: null };
  });
  if (!changed) throw new NotFoundError('no deleted version to undelete');
  return { record: withVersions(record, next, { updatedTime: now }), changed: true };
}

function liveVersion(r: SecretRecord, version: number | undefined): SecretVersion {
  return liveOf(pickSecretVersion(r, version ?? 0), version);
}

function liveOf(read: SecretVersionRead, version: number | undefined): SecretVersion {
  const wanted = resolveVersion(version, read.metadata.currentVersion);
  if (wanted === 0) throw new NotFoundError('secret has no live version');
  const found = read.version;
  if (found === undefined || found.version !== wanted || found.deletedTime !== null) {
    throw new NotFoundError('secret version not found');
  }
  return found;
}

/**
 * What `SecretStore.getSecretVersion` answers, from a whole record: the metadata and version
 * `version` (`0` = current) if the record keeps it. For backends that hold whole records.
 */
export function pickSecretVersion(record: SecretRecord, version: number): SecretVersionRead {
  const wanted = resolveVersion(version, record.metadata.currentVersion);
  const found = wanted === 0 ? undefined : record.versions.find((v) => v.version === wanted);
  return { path: record.path, metadata: record.metadata, version: found };
}

/** The data of a live version (`0`/absent = current). Throws `NotFoundError` otherwise. */
export function readSecretVersion(
  record: SecretRecord | undefined,
  version?: number,
): Readonly<Record<string, string>> {
  return liveVersion(requireRecord(record), version).data;
}

/**
 * `readSecretVersion` over the answer of `SecretStore.getSecretVersion(path, version)` (asked
 * with the same `version`). Throws `NotFoundError` when that version is missing or not live.
 */
export function readLiveVersion(
  read: SecretVersionRead | undefined,
  version?: number,
): Readonly<Record<string, string>> {
  if (read === undefined) throw new NotFoundError('secret not found');
  return liveOf(read, version).data;
}

/**
 * The metadata route's content. The requested (or current) version must exist and be live, else
 * `NotFoundError`. Every kept version is listed under its own number.
 */
export function secretMetadataView(record: SecretRecord | undefined, version?: number): SecretMetadataView {
  const r = requireRecord(record);
  liveVersion(r, version);
  const versions: Record<string, SecretVersionInfo> = {};
  for (const v of r.versions) {
    versions[String(v.version)] = {
      createdTime: formatRfc3339(v.createdTime),
      version: v.version,
      deletedTime: v.deletedTime === null ? null : formatRfc3339(v.deletedTime),
    };
  }
  const m = r.metadata;
  return {
    versions,
    metadata: {
      currentVersion: m.currentVersion,
      oldestVersion: m.oldestVersion,
      createdTime: formatRfc3339(m.createdTime),
      updatedTime: formatRfc3339(m.updatedTime),
      maxVersions: m.maxVersions,
    },
  };
}
