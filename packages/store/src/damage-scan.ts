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
import type { RowCodec } from './row-codec.ts';
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
