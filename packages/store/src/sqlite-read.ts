/**
 * Reads of the SQLite backend: every row is opened (authenticated and decrypted) and checked
 * against its neighbours; anything that does not fit throws `StoreIntegrityError`.
 */
import type { DatabaseSync } from 'node:sqlite';
import {
  resolveVersion,
  type PolicyRecord,
  type SecretRecord,
  type SecretVersion,
  type SecretVersionRead,
} from '@spike-ts/core';
import type { RowCache } from './row-cache.ts';
import type { RowCodec, SecretHead } from './row-codec.ts';
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
  if (s.anyVersion.get(id) !== undefined) {
    throw new StoreIntegrityError('table secret_versions: rows without a secrets row');
  }
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

/**
 * `lazy`: when the head lists every version's times, versions are built from them and their rows
 * are opened only when a caller reads `data` (a write re-seals only the versions it changes, so a
 * put opens none of the versions it keeps). Opening checks the row against the head's times.
 * For writes only: integrity errors of unopened rows surface when (and if) they are read.
 */
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
  const head = openHeadOf(codec, id, path, blob(first, 'head', 'table secrets'));
  // A secret without version rows joins to one row whose version columns are NULL.
  const versionRows = rows.length === 1 && first['version'] === null ? [] : rows;
  const where = 'table secret_versions';
  const numbers = versionRows.map((r) => integer(r, 'version', where));
  if (numbers.length !== head.versions.length || numbers.some((n, i) => n !== head.versions[i])) {
    throw new StoreIntegrityError('table secret_versions: version rows do not match the secret');
  }
  const versions = versionRows.map((r, i) => {
    const number = numbers[i] as number;
    const sealed = blob(r, 'envelope', where);
    const known = head.times?.[i];
    if (known === undefined) return codec.openVersion(id, number, sealed);
    if (lazy) return lazyVersion(codec, id, number, sealed, known[0], known[1]);
    return checkTimes(codec.openVersion(id, number, sealed), known[0], known[1]);
  });
  return Object.freeze({ path, versions: Object.freeze(versions), metadata: head.metadata });
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
  let entry = cache.get(path);
  if (entry === undefined) {
    // A found head is one statement; only a miss needs the orphan check in the same snapshot.
    const found = readHead(s, codec, path, false) ?? inReadTransaction(db, () => readHead(s, codec, path));
    if (found === undefined) return undefined;
    entry = cache.add(path, found.id, found.head);
  }
  const { id, head } = entry;
  const wanted = resolveVersion(version, head.metadata.currentVersion);
  if (wanted === 0 || !head.versions.includes(wanted)) {
    return { path, metadata: head.metadata, version: undefined };
  }
  let sealed = entry.versions.get(wanted);
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
    if (checkOrphans && s.anyVersion.get(id) !== undefined) {
      throw new StoreIntegrityError('table secret_versions: rows without a secrets row');
    }
    return undefined;
  }
  const head = openHeadOf(codec, id, path, blob(row, 'envelope', 'table secrets'));
  return { id, head };
}

/** Opens a `secrets` row and checks it belongs to `path` (a row moved to another id fails). */
function openHeadOf(codec: RowCodec, id: Uint8Array, path: string, envelope: Uint8Array): SecretHead {
  const head = codec.openHead(id, envelope);
  if (head.path !== path) throw new StoreIntegrityError('table secrets: row belongs to another path');
  return head;
}

/** A version whose row is opened (and checked against the head's times) on first use of `data`. */
function lazyVersion(
  codec: RowCodec,
  id: Uint8Array,
  version: number,
  sealed: Uint8Array,
  createdTime: number,
  deletedTime: number | null,
): SecretVersion {
  let data: Readonly<Record<string, string>> | undefined;
  return Object.freeze({
    version,
    createdTime,
    deletedTime,
    get data(): Readonly<Record<string, string>> {
      data ??= checkTimes(codec.openVersion(id, version, sealed), createdTime, deletedTime).data;
      return data;
    },
  });
}

/** An opened version row must carry the times its secret's head lists for it. */
function checkTimes(opened: SecretVersion, createdTime: number, deletedTime: number | null): SecretVersion {
  if (opened.createdTime !== createdTime || opened.deletedTime !== deletedTime) {
    throw new StoreIntegrityError(
      `table secret_versions, version ${opened.version}: times differ from the secret's`,
    );
  }
  return opened;
}

export function readPolicy(s: Statements, codec: RowCodec, name: string): PolicyRecord | undefined {
  const id = codec.nameId(name);
  const row = s.getPolicy.get(id);
  if (row === undefined) return undefined;
  const policy = codec.openPolicy(id, blob(row, 'envelope', 'table policies'));
  if (policy.name !== name) throw new StoreIntegrityError('table policies: row belongs to another policy');
  return policy;
}
