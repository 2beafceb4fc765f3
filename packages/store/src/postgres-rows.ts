/**
 * Reading the PostgreSQL backend's result rows: `bytea` columns, version numbers (bigint as
 * text) and the rows of one secret place (its head and version rows) as the shared row assembly
 * (`secret-rows.ts`) takes them. Anything of the wrong type is a `StoreIntegrityError`.
 */
import { orphanVersionsError, type VersionRow } from './secret-rows.ts';
import { StoreIntegrityError } from './store-error.ts';

/** A row of a secret read: the head envelope (repeated) and one version row, either may be null. */
export interface SecretRow {
  head: unknown;
  version: string | null;
  envelope: unknown;
}

export function bytes(value: unknown, column: string, where: string): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new StoreIntegrityError(`${where}: column ${column} is not bytes`);
  return value;
}

export function versionNumber(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new StoreIntegrityError('table secret_versions: column version is not a version number');
  }
  return n;
}

/** The head and version rows of one place's read; version rows without a head are damage. */
export function secretRows(rows: readonly SecretRow[]): {
  head: Uint8Array | undefined;
  versions: VersionRow[];
} {
  const first = rows[0];
  const head =
    first?.head === null || first === undefined ? undefined : bytes(first.head, 'envelope', 'table secrets');
  const where = 'table secret_versions';
  const versions = rows
    .filter((r) => r.version !== null)
    .map((r) => ({ version: versionNumber(r.version), envelope: bytes(r.envelope, 'envelope', where) }));
  if (head === undefined && versions.length > 0) throw orphanVersionsError();
  return { head, versions };
}
