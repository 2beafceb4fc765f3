/**
 * Record builders for the store contract and backend tests. They follow SPIKE's versioning
 * closely enough to exercise the store (new version = highest + 1, oldest versions pruned past
 * `maxVersions`); the real rules live in core.
 */
import assert from 'node:assert/strict';
import type { PolicyRecord, SecretMutation, SecretRecord, SecretVersion } from '@spike-ts/core';
import type { Permission } from '@spike-ts/protocol';

export const T0 = Date.UTC(2025, 0, 1);

/** Mutator that appends a version with `data`, keeping at most `maxVersions`. Result = new version. */
export function putVersion(
  path: string,
  data: Record<string, string>,
  opts: { maxVersions?: number; now?: number } = {},
): (current: SecretRecord | undefined) => SecretMutation<number> {
  return (current) => {
    const now = opts.now ?? T0;
    const maxVersions = current?.metadata.maxVersions ?? opts.maxVersions ?? 10;
    const highest = current?.versions.at(-1)?.version ?? 0;
    const version = highest + 1;
    const kept: SecretVersion[] = [
      ...(current?.versions ?? []),
      { version, data, createdTime: now, deletedTime: null },
    ];
    const versions = kept.slice(Math.max(0, kept.length - maxVersions));
    const next: SecretRecord = {
      path,
      versions,
      metadata: {
        currentVersion: version,
        oldestVersion: versions[0]?.version ?? 0,
        createdTime: current?.metadata.createdTime ?? now,
        updatedTime: now,
        maxVersions,
      },
    };
    return { next, result: version };
  };
}

/** Mutator that soft-deletes `version`. Result = whether the version existed. */
export function softDelete(
  version: number,
  now: number,
): (current: SecretRecord | undefined) => SecretMutation<boolean> {
  return (current) => {
    if (current === undefined || !current.versions.some((v) => v.version === version)) {
      return { next: undefined, result: false };
    }
    const versions = current.versions.map((v) => (v.version === version ? { ...v, deletedTime: now } : v));
    const live = versions.filter((v) => v.deletedTime === null).map((v) => v.version);
    return {
      next: {
        ...current,
        versions,
        metadata: {
          ...current.metadata,
          currentVersion: live.at(-1) ?? 0,
          oldestVersion: live[0] ?? 0,
          updatedTime: now,
        },
      },
      result: true,
    };
  };
}

export function samplePolicy(name: string, over: Partial<PolicyRecord> = {}): PolicyRecord {
  const permissions: Permission[] = ['read', 'list'];
  return {
    name,
    spiffeIdPattern: '^spiffe://example\\.org/app/.*$',
    pathPattern: '^apps/db/.*$',
    permissions,
    createdTime: T0,
    updatedTime: T0 + 1000,
    ...over,
  };
}

/** A plain, mutable deep copy (for comparing what a store returns with what went in). */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Runs a mutation of returned data; a frozen object may throw, a copy may not: both are fine. */
export function attempt(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TypeError);
  }
}

/** `rec` with its versions replaced by copies of the first one, numbered `numbers`. */
export function withVersions(rec: SecretRecord, numbers: number[]): SecretRecord {
  const base = rec.versions[0]!;
  return { ...rec, versions: numbers.map((version) => ({ ...base, version })) };
}
