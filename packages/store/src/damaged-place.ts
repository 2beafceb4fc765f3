/** Validation of the place a caller names when removing a damaged row (every backend uses it). */
import type { DamagedTable } from '@spike-ts/core';
import { InvalidRecordError } from './store-error.ts';

const ID_HEX = /^[0-9a-f]{64}$/;

/** Checks the arguments of `removeDamagedRow`; returns the id's bytes. */
export function parseDamagedPlace(table: unknown, id: unknown): { table: DamagedTable; id: Uint8Array } {
  if (table !== 'policies' && table !== 'secrets') {
    throw new InvalidRecordError("damaged row table must be 'policies' or 'secrets'");
  }
  if (typeof id !== 'string' || !ID_HEX.test(id)) {
    throw new InvalidRecordError('damaged row id must be 64 lower-case hex digits');
  }
  return { table, id: new Uint8Array(Buffer.from(id, 'hex')) };
}
