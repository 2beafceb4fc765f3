/**
 * Damaged rows, for every persistent backend: scans that keep serving the readable rows and
 * report the others, from the rows a backend read in one snapshot.
 *
 * The root key was verified against the key-check value before any row is opened (see
 * `unlock`), so a row that does not authenticate is damage to that row (edited bytes, a row
 * sealed for another place: swapped, copied or re-keyed), never a wrong key. A damaged policy row
 * grants nothing: it is simply not among the readable policies.
 *
 * Naming: a damaged row's own name is inside its unreadable envelope. The scan can still name a
 * place when another damaged row turns out to be that place's row moved elsewhere (two swapped
 * rows name each other; a re-keyed secret row names the place its versions still sit in).
 */
import type { DamagedRow, DamagedTable, PolicyRecord, PolicyScan, SecretPathScan } from '@spike-ts/core';
import { comparePolicies } from './record-copy.ts';
import type { RowCodec, SecretHead } from './row-codec.ts';
import type { VersionRow } from './secret-rows.ts';
import { StoreIntegrityError } from './store-error.ts';

/** Most envelope-opening attempts spent on naming damaged rows in one scan (each is one AES-GCM open). */
export const MAX_NAMING_ATTEMPTS = 100_000;

interface Damaged {
  readonly id: Uint8Array;
  /** Absent for version rows without a secret row. */
  readonly envelope?: Uint8Array;
  readonly kind: DamagedRow['kind'];
}

const hex = (id: Uint8Array): string => Buffer.from(id).toString('hex');

/** Runs `open`; a row that fails authentication or decoding yields undefined. */
export function tryOpen<T>(open: () => T): T | undefined {
  try {
    return open();
  } catch (err) {
    if (err instanceof StoreIntegrityError) return undefined;
    throw err;
  }
}

/**
 * Tries each damaged envelope at every other known place; where one opens, the name inside is
 * that place's name. Bounded by `MAX_NAMING_ATTEMPTS`.
 */
function nameDamaged(
  table: DamagedTable,
  damaged: readonly Damaged[],
  places: readonly Uint8Array[],
  nameAt: (place: Uint8Array, envelope: Uint8Array) => string | undefined,
): DamagedRow[] {
  const names = new Map<string, string>();
  const sealed = damaged.filter((d) => d.envelope !== undefined);
  if (sealed.length * places.length <= MAX_NAMING_ATTEMPTS) {
    for (const d of sealed) {
      for (const place of places) {
        if (Buffer.compare(place, d.id) === 0) continue;
        const name = nameAt(place, d.envelope as Uint8Array);
        if (name !== undefined) {
          names.set(hex(place), name);
          break;
        }
      }
    }
  }
  return damaged
    .map((d): DamagedRow => {
      const id = hex(d.id);
      const name = names.get(id);
      return { table, id, kind: d.kind, ...(name === undefined ? {} : { name }) };
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** One stored row: its place (lookup id) and its envelope. */
export interface PlacedRow {
  readonly id: Uint8Array;
  readonly envelope: Uint8Array;
}

/** Every `policies` row, opened or reported. */
export function scanPolicies(rows: Iterable<PlacedRow>, codec: RowCodec): PolicyScan {
  const policies: PolicyRecord[] = [];
  const damaged: Damaged[] = [];
  const places: Uint8Array[] = [];
  for (const { id, envelope } of rows) {
    places.push(id);
    const policy = tryOpen(() => codec.openPolicy(id, envelope));
    if (policy === undefined) damaged.push({ id, envelope, kind: 'unreadable' });
    else policies.push(policy);
  }
  const named = nameDamaged(
    'policies',
    damaged,
    places,
    (place, envelope) => tryOpen(() => codec.openPolicy(place, envelope))?.name,
  );
  return { policies: policies.sort(comparePolicies), damaged: named };
}

/**
 * Every `secrets` row, opened or reported, and the places of version rows without a `secrets`
 * row (`orphans`); both read in one snapshot.
 */
export function scanSecrets(
  heads: Iterable<PlacedRow>,
  orphans: Iterable<Uint8Array>,
  codec: RowCodec,
): SecretPathScan {
  const paths: string[] = [];
  const damaged: Damaged[] = [];
  const places: Uint8Array[] = [];
  for (const { id, envelope } of heads) {
    places.push(id);
    const head = tryOpen(() => codec.openHead(id, envelope));
    if (head === undefined) damaged.push({ id, envelope, kind: 'unreadable' });
    else paths.push(head.path);
  }
  for (const id of orphans) {
    places.push(id);
    damaged.push({ id, kind: 'versions-without-secret' });
  }
  const named = nameDamaged(
    'secrets',
    damaged,
    places,
    (place, envelope) => tryOpen(() => codec.openHead(place, envelope))?.path,
  );
  return { paths: paths.sort(), damaged: named };
}

// --- version rows ---------------------------------------------------------------------------

/** Secrets whose rows one page of the version scan reads (their version rows come along). */
export const VERSION_SCAN_PAGE = 256;

/** One readable-or-not secret with its version rows (ascending), as a page of the scan reads it. */
export interface SecretRowGroup {
  readonly id: Uint8Array;
  readonly head: Uint8Array;
  readonly versions: readonly VersionRow[];
}

/** One joined row of a version-scan page: a `secrets` row and one of its version rows, if any. */
export interface JoinedVersionRow {
  readonly id: Uint8Array;
  readonly head: Uint8Array;
  readonly version: number | null;
  readonly envelope: Uint8Array | null;
}

/** Groups joined rows (ordered by place, then version) into one group per secret. */
export function groupVersionRows(rows: readonly JoinedVersionRow[]): SecretRowGroup[] {
  const groups: { id: Uint8Array; head: Uint8Array; versions: VersionRow[] }[] = [];
  for (const r of rows) {
    let last = groups[groups.length - 1];
    if (last === undefined || Buffer.compare(last.id, r.id) !== 0) {
      last = { id: r.id, head: r.head, versions: [] };
      groups.push(last);
    }
    if (r.version !== null && r.envelope !== null)
      last.versions.push({ version: r.version, envelope: r.envelope });
  }
  return groups;
}

/**
 * The damaged version rows of one secret whose `secrets` row opens (a secret whose own row is
 * damaged is reported as a `secrets` row; removing that takes its versions): rows that do not
 * open at their place (`unreadable`), rows that open but do not match what the secret's row lists
 * (`stale`), and listed versions without a row (`missing`). Named by the secret's path.
 */
export function scanVersionGroup(codec: RowCodec, group: SecretRowGroup): DamagedRow[] {
  const head = tryOpen(() => codec.openHead(group.id, group.head));
  if (head === undefined) return [];
  const id = hex(group.id);
  const damaged: DamagedRow[] = [];
  const seen = new Set<number>();
  for (const row of group.versions) {
    seen.add(row.version);
    const kind = versionRowDamage(codec, group.id, head, row.version, row.envelope);
    if (kind !== undefined)
      damaged.push({ table: 'secret_versions', id, version: row.version, kind, name: head.path });
  }
  for (const version of head.versions) {
    if (!seen.has(version))
      damaged.push({ table: 'secret_versions', id, version, kind: 'missing', name: head.path });
  }
  return damaged.sort((a, b) => (a.version ?? 0) - (b.version ?? 0));
}

/** What is wrong with one present version row of a readable secret (undefined: nothing). */
function versionRowDamage(
  codec: RowCodec,
  id: Uint8Array,
  head: SecretHead,
  version: number,
  envelope: Uint8Array,
): 'unreadable' | 'stale' | undefined {
  const opened = tryOpen(() => codec.openVersion(id, version, envelope));
  if (opened === undefined) return 'unreadable';
  const at = head.versions.indexOf(version);
  if (at < 0) return 'stale';
  const times = head.times?.[at];
  if (times !== undefined && (opened.createdTime !== times[0] || opened.deletedTime !== times[1]))
    return 'stale';
  return undefined;
}

/** What removing a damaged version row changes; undefined when there is nothing to remove. */
export interface VersionRemoval {
  /** The secret's path (for cache invalidation and the log). */
  readonly path: string;
  /** Whether a version row is there to delete. */
  readonly deleteRow: boolean;
  /** The secret's new `secrets` row, when the version was listed there. */
  readonly head?: Uint8Array;
}

/**
 * Plans the removal of version `version` of the secret at `id`, from its rows as read inside the
 * removing transaction: only a damaged place is removed (see `scanVersionGroup`), and only while
 * the secret's own row opens. A version its secret lists is taken out of the list as if it had
 * been pruned: its times go with it, the current and oldest versions are recomputed from the
 * versions left (as after a delete), and the update time becomes `now`.
 */
export function planVersionRemoval(
  codec: RowCodec,
  id: Uint8Array,
  headEnvelope: Uint8Array | undefined,
  version: number,
  row: Uint8Array | undefined,
  now: number,
): VersionRemoval | undefined {
  if (headEnvelope === undefined) return undefined;
  const head = tryOpen(() => codec.openHead(id, headEnvelope));
  if (head === undefined) return undefined;
  const at = head.versions.indexOf(version);
  if (row !== undefined && versionRowDamage(codec, id, head, version, row) === undefined) return undefined;
  if (row === undefined && at < 0) return undefined;
  if (at < 0) return { path: head.path, deleteRow: true };
  const versions = head.versions.filter((_, i) => i !== at);
  const times = head.times?.filter((_, i) => i !== at);
  const { currentVersion, oldestVersion } = head.metadata;
  let metadata = { ...head.metadata, updatedTime: now };
  if (times !== undefined) {
    const live = versions.filter((_, i) => times[i]?.[1] === null);
    metadata = { ...metadata, currentVersion: live[live.length - 1] ?? 0, oldestVersion: live[0] ?? 0 };
  } else {
    // A row written before heads listed the times: which versions are live is inside their rows,
    // so only a current or oldest version that is the removed one moves to its neighbour.
    metadata = {
      ...metadata,
      currentVersion: currentVersion === version ? (versions[versions.length - 1] ?? 0) : currentVersion,
      oldestVersion: oldestVersion === version ? (versions.find((v) => v > version) ?? 0) : oldestVersion,
    };
  }
  const next = codec.sealHead(id, {
    path: head.path,
    metadata,
    versions,
    ...(times === undefined ? {} : { times }),
  });
  return { path: head.path, deleteRow: row !== undefined, head: next };
}
