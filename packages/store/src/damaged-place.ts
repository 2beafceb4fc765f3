/** Validation of the place a caller names when removing a damaged row (every backend uses it). */
import type { DamagedTable } from '@spike-ts/core';
import { InvalidRecordError } from './store-error.ts';

const ID_HEX = /^[0-9a-f]{64}$/;

/** A place to remove: the table, the lookup id's bytes and, for `secret_versions`, the version. */
export interface DamagedPlace {
  readonly table: DamagedTable;
  readonly id: Uint8Array;
  readonly version?: number;
}

/** Checks the arguments of `removeDamagedRow`; returns the id's bytes. */
export function parseDamagedPlace(table: unknown, id: unknown, version?: unknown): DamagedPlace {
  if (table !== 'policies' && table !== 'secrets' && table !== 'secret_versions') {
    throw new InvalidRecordError("damaged row table must be 'policies', 'secrets' or 'secret_versions'");
  }
  if (typeof id !== 'string' || !ID_HEX.test(id)) {
    throw new InvalidRecordError('damaged row id must be 64 lower-case hex digits');
  }
  const bytes = new Uint8Array(Buffer.from(id, 'hex'));
  if (table !== 'secret_versions') {
    if (version !== undefined) throw new InvalidRecordError(`a damaged ${table} row has no version`);
    return { table, id: bytes };
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidRecordError('a damaged secret_versions row needs its version, a whole number from 1');
  }
  return { table, id: bytes, version };
}
