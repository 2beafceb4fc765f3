/**
 * Damaged rows of the SQLite backend: scans that keep serving the readable rows and report the
 * others, and the explicit removal of one damaged row.
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
import type { RowCodec } from './row-codec.ts';
import { blob } from './sqlite-statements.ts';
import type { Row, Statements } from './sqlite-statements.ts';
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
function tryOpen<T>(open: () => T): T | undefined {
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

export function scanPolicyRows(s: Statements, codec: RowCodec): PolicyScan {
  const where = 'table policies';
  const policies: PolicyRecord[] = [];
  const damaged: Damaged[] = [];
  const places: Uint8Array[] = [];
  for (const r of s.allPolicies.all()) {
    const id = blob(r, 'name_id', where);
    const envelope = blob(r, 'envelope', where);
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

export function scanSecretRows(s: Statements, codec: RowCodec): SecretPathScan {
  const where = 'table secrets';
  const paths: string[] = [];
  const damaged: Damaged[] = [];
  const places: Uint8Array[] = [];
  for (const r of s.allHeads.all()) {
    const id = blob(r, 'path_id', where);
    const envelope = blob(r, 'envelope', where);
    places.push(id);
    const head = tryOpen(() => codec.openHead(id, envelope));
    if (head === undefined) damaged.push({ id, envelope, kind: 'unreadable' });
    else paths.push(head.path);
  }
  for (const r of s.orphanVersionIds.all() as Row[]) {
    const id = blob(r, 'path_id', 'table secret_versions');
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

/**
 * Deletes the damaged row at `id` (inside the caller's write transaction). A row that opens is
 * not damaged and stays; so does a place with no row. Returns whether anything was deleted.
 */
export function removeDamagedPlace(
  s: Statements,
  codec: RowCodec,
  table: DamagedTable,
  id: Uint8Array,
): boolean {
  if (table === 'policies') {
    const row = s.getPolicy.get(id);
    if (row === undefined) return false;
    const envelope = blob(row, 'envelope', 'table policies');
    if (tryOpen(() => codec.openPolicy(id, envelope)) !== undefined) return false;
    return Number(s.deletePolicy.run(id).changes) > 0;
  }
  const head = s.getHead.get(id);
  if (head !== undefined) {
    const envelope = blob(head, 'envelope', 'table secrets');
    if (tryOpen(() => codec.openHead(id, envelope)) !== undefined) return false;
    s.deleteHead.run(id);
    s.deleteAllVersions.run(id);
    return true;
  }
  return Number(s.deleteAllVersions.run(id).changes) > 0;
}
