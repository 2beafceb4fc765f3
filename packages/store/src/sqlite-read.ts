/**
 * Reads of the SQLite backend: every row is opened (authenticated and decrypted) and checked
 * against its neighbours; anything that does not fit throws `StoreIntegrityError`.
 */
import type { DatabaseSync } from 'node:sqlite';
import { resolveVersion, type PolicyRecord, type SecretRecord, type SecretVersionRead } from '@spike-ts/core';
import type { RowCache } from './row-cache.ts';
import type { RowCodec, SecretHead } from './row-codec.ts';
import { blob, integer } from './sqlite-statements.ts';
import type { Statements } from './sqlite-statements.ts';
import { StoreIntegrityError } from './store-error.ts';
import { assembleSecret, openHeadAt, openPolicyAt, orphanVersionsError } from './secret-rows.ts';

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

/**
 * Reads and opens one secret. The `secrets` row and its version rows come from ONE statement
 * (a join), so they belong to one snapshot without an explicit transaction. Only a miss needs a
 * second statement (rows of `secret_versions` without a `secrets` row are an integrity error);
 * callers outside a transaction use {@link readSecretSnapshot}, which wraps that case in one.
 */
export function readSecret(
  s: Statements,
  codec: RowCodec,
  path: string,
  id: Uint8Array = codec.pathId(path),
  lazy = false,
): SecretRecord | undefined {
  const found = readJoined(s, codec, path, id, lazy);
  if (found !== undefined) return found;
  if (s.anyVersion.get(id) !== undefined) throw orphanVersionsError();
  return undefined;
}

/** `readSecret` for callers outside a transaction: a hit takes one statement and no BEGIN. */
export function readSecretSnapshot(
  db: DatabaseSync,
  s: Statements,
  codec: RowCodec,
  path: string,
): SecretRecord | undefined {
  if (db.isTransaction) return readSecret(s, codec, path);
  const id = codec.pathId(path);
  return readJoined(s, codec, path, id) ?? inReadTransaction(db, () => readSecret(s, codec, path, id));
}

/** The joined `secrets` + `secret_versions` rows of one secret, assembled (undefined: no head row). */
function readJoined(
  s: Statements,
  codec: RowCodec,
  path: string,
  id: Uint8Array,
  lazy = false,
): SecretRecord | undefined {
  const rows = s.getSecretRows.all(id);
  const first = rows[0];
  if (first === undefined) return undefined;
  // A secret without version rows joins to one row whose version columns are NULL.
  const versionRows = rows.length === 1 && first['version'] === null ? [] : rows;
  const where = 'table secret_versions';
  const versions = versionRows.map((r) => ({
    version: integer(r, 'version', where),
    envelope: blob(r, 'envelope', where),
  }));
  return assembleSecret(codec, path, id, blob(first, 'head', 'table secrets'), versions, lazy);
}

/**
 * One version of a secret (`0` = current) with the secret's metadata, through the row cache: the
 * `secrets` row and the asked-for version row are read (and remembered, sealed) only when the
 * cache lacks them; only that version is opened. Called outside transactions.
 */
export function readOneVersion(
  db: DatabaseSync,
  s: Statements,
  codec: RowCodec,
  cache: RowCache,
  path: string,
  version: number,
): SecretVersionRead | undefined {
  cache.sync();
  // A hit: answered without a statement (the head, and the version asked for, were cached).
  let entry = cache.get(path);
  const headHit = entry !== undefined;
  if (entry === undefined) {
    // A found head is one statement; only a miss needs the orphan check in the same snapshot.
    const found = readHead(s, codec, path, false) ?? inReadTransaction(db, () => readHead(s, codec, path));
    if (found === undefined) {
      cache.noteRead(false);
      return undefined;
    }
    entry = cache.add(path, found.id, found.head);
  }
  const { id, head } = entry;
  const wanted = resolveVersion(version, head.metadata.currentVersion);
  if (wanted === 0 || !head.versions.includes(wanted)) {
    cache.noteRead(headHit);
    return { path, metadata: head.metadata, version: undefined };
  }
  let sealed = entry.versions.get(wanted);
  cache.noteRead(headHit && sealed !== undefined);
  if (sealed === undefined) {
    const row = s.getVersion.get(id, wanted);
    if (row === undefined) {
      throw new StoreIntegrityError('table secret_versions: a version row the secret lists is missing');
    }
    sealed = blob(row, 'envelope', 'table secret_versions');
    cache.addVersion(path, entry, wanted, sealed);
  }
  return { path, metadata: head.metadata, version: codec.openVersion(id, wanted, sealed) };
}

/** The opened `secrets` row of `path`, or undefined when there is none (and no orphan version rows). */
function readHead(
  s: Statements,
  codec: RowCodec,
  path: string,
  checkOrphans = true,
): { id: Uint8Array; head: SecretHead } | undefined {
  const id = codec.pathId(path);
  const row = s.getHead.get(id);
  if (row === undefined) {
    if (checkOrphans && s.anyVersion.get(id) !== undefined) throw orphanVersionsError();
    return undefined;
  }
  const head = openHeadAt(codec, id, path, blob(row, 'envelope', 'table secrets'));
  return { id, head };
}

export function readPolicy(s: Statements, codec: RowCodec, name: string): PolicyRecord | undefined {
  const id = codec.nameId(name);
  const row = s.getPolicy.get(id);
  if (row === undefined) return undefined;
  return openPolicyAt(codec, id, name, blob(row, 'envelope', 'table policies'));
}
