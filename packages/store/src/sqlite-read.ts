/**
 * Reads of the SQLite backend: every row is opened (authenticated and decrypted) and checked
 * against its neighbours; anything that does not fit throws `StoreIntegrityError`.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { PolicyRecord, SecretRecord } from '@spike-ts/core';
import { comparePolicies } from './record-copy.ts';
import type { RowCodec } from './row-codec.ts';
import { blob, integer } from './sqlite-statements.ts';
import type { Statements } from './sqlite-statements.ts';
import { StoreIntegrityError } from './store-error.ts';

/**
 * Runs `fn` in a read transaction, so rows read by several statements come from one snapshot
 * even if another connection writes meanwhile. Inside an open transaction, just runs `fn`.
 */
export function inReadTransaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec('BEGIN');
  try {
    return fn();
  } finally {
    if (db.isTransaction) db.exec('ROLLBACK');
  }
}

export function readSecret(s: Statements, codec: RowCodec, path: string): SecretRecord | undefined {
  const id = codec.pathId(path);
  const headRow = s.getHead.get(id);
  if (headRow === undefined) {
    if (s.anyVersion.get(id) !== undefined) {
      throw new StoreIntegrityError('table secret_versions: rows without a secrets row');
    }
    return undefined;
  }
  const head = codec.openHead(id, blob(headRow, 'envelope', 'table secrets'));
  if (head.path !== path) throw new StoreIntegrityError('table secrets: row belongs to another path');
  const rows = s.getVersions.all(id);
  const numbers = rows.map((r) => integer(r, 'version', 'table secret_versions'));
  if (numbers.length !== head.versions.length || numbers.some((n, i) => n !== head.versions[i])) {
    throw new StoreIntegrityError('table secret_versions: version rows do not match the secret');
  }
  const versions = rows.map((r, i) =>
    codec.openVersion(id, numbers[i] as number, blob(r, 'envelope', 'table secret_versions')),
  );
  return Object.freeze({ path, versions: Object.freeze(versions), metadata: head.metadata });
}

/** Every secret path, sorted. Opens only the `secrets` rows, never the version rows. */
export function readSecretPaths(s: Statements, codec: RowCodec): string[] {
  const where = 'table secrets';
  return s.allHeads
    .all()
    .map((r) => codec.openHead(blob(r, 'path_id', where), blob(r, 'envelope', where)).path)
    .sort();
}

export function readPolicy(s: Statements, codec: RowCodec, name: string): PolicyRecord | undefined {
  const id = codec.nameId(name);
  const row = s.getPolicy.get(id);
  if (row === undefined) return undefined;
  const policy = codec.openPolicy(id, blob(row, 'envelope', 'table policies'));
  if (policy.name !== name) throw new StoreIntegrityError('table policies: row belongs to another policy');
  return policy;
}

export function readPolicies(s: Statements, codec: RowCodec): PolicyRecord[] {
  const where = 'table policies';
  return s.allPolicies
    .all()
    .map((r) => codec.openPolicy(blob(r, 'name_id', where), blob(r, 'envelope', where)))
    .sort(comparePolicies);
}
