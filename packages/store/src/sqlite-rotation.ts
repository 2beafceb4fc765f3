/**
 * Online root-key rotation on the SQLite backend (ADR 0044): the `root_keys` rows, re-sealing
 * rows in bounded batches, and retiring the old generation. Every step that writes runs as a job
 * of the store's group commit, so it is serialized with the writes of this (the only writing)
 * connection: a batch never interleaves with a secret update, and a write after `begin` is sealed
 * under the new generation already.
 */
import type { DatabaseSync } from 'node:sqlite';
import { RotationInProgressError, type Logger, type RootKeyRotation } from '@spike-ts/core';
import {
  beginRow,
  finishedRing,
  generationBytes,
  resolveKeyRing,
  type GenerationRow,
  type GenerationState,
  type KeyRing,
} from './key-generations.ts';
import { createRowCodec, type RowCodec } from './row-codec.ts';
import { StoreIntegrityError } from './store-error.ts';

export interface SqliteRotationDeps {
  readonly db: DatabaseSync;
  readonly logger: Logger;
  /** The codec in use (throws when the store is locked or closed). */
  codec(): RowCodec;
  /** Installs a new codec (the store destroys the old one and drops its read cache). */
  replaceCodec(next: RowCodec): void;
  /** Runs `job` inside a write transaction of the store's group commit. */
  inWrite<T>(job: () => T): Promise<T>;
  readKeyCheck(): Uint8Array | undefined;
}

type Table = 'policies' | 'secrets' | 'secret_versions';
const TABLES: readonly Table[] = ['policies', 'secrets', 'secret_versions'];

export interface SqliteRotation {
  readonly rotation: RootKeyRotation;
  /** The ring `candidate` yields for this database (`unlock`). */
  resolve(candidate: Uint8Array, keyCheck: Uint8Array): KeyRing;
}

export function createSqliteRotation(deps: SqliteRotationDeps): SqliteRotation {
  const { db } = deps;
  const readRows = db.prepare(
    'SELECT generation, key_check, state, started_at, finished_at, carry, up, down FROM root_keys ORDER BY generation',
  );
  const insertRow = db.prepare(
    'INSERT INTO root_keys (generation, key_check, state, started_at, finished_at, carry, up, down) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)',
  );
  const markCurrent = db.prepare(
    "UPDATE root_keys SET state = 'current', finished_at = ?, up = NULL, down = NULL WHERE generation = ? AND state = 'rotating'",
  );
  const markRetired = db.prepare("UPDATE root_keys SET state = 'retired', carry = NULL WHERE generation = ?");
  const pick = {
    policies: db.prepare(
      'SELECT name_id AS id, envelope FROM policies WHERE name_id > ? AND substr(envelope, 2, 4) <> ? ORDER BY name_id LIMIT ?',
    ),
    secrets: db.prepare(
      'SELECT path_id AS id, envelope FROM secrets WHERE path_id > ? AND substr(envelope, 2, 4) <> ? ORDER BY path_id LIMIT ?',
    ),
    secret_versions: db.prepare(
      'SELECT path_id AS id, version, envelope FROM secret_versions WHERE (path_id, version) > (?, ?) AND substr(envelope, 2, 4) <> ? ORDER BY path_id, version LIMIT ?',
    ),
  };
  const update = {
    policies: db.prepare('UPDATE policies SET envelope = ? WHERE name_id = ?'),
    secrets: db.prepare('UPDATE secrets SET envelope = ? WHERE path_id = ?'),
    secret_versions: db.prepare('UPDATE secret_versions SET envelope = ? WHERE path_id = ? AND version = ?'),
  };
  const count = db.prepare(
    `SELECT (SELECT count(*) FROM policies) + (SELECT count(*) FROM secrets) + (SELECT count(*) FROM secret_versions) AS total,
       (SELECT count(*) FROM policies WHERE substr(envelope, 2, 4) <> ?1)
       + (SELECT count(*) FROM secrets WHERE substr(envelope, 2, 4) <> ?1)
       + (SELECT count(*) FROM secret_versions WHERE substr(envelope, 2, 4) <> ?1) AS old`,
  );

  const rows = (): GenerationRow[] =>
    (readRows.all() as Record<string, unknown>[]).map((r) => ({
      generation: Number(r['generation']),
      keyCheck: bytes(r['key_check']),
      state: r['state'] as GenerationState,
      startedAt: Number(r['started_at']),
      finishedAt: r['finished_at'] === null ? null : Number(r['finished_at']),
      carry: nullableBytes(r['carry']),
      up: nullableBytes(r['up']),
      down: nullableBytes(r['down']),
    }));

  const keyCheck = (): Uint8Array => {
    const kcv = deps.readKeyCheck();
    if (kcv === undefined) throw new StoreIntegrityError('table meta: the key-check value is missing');
    return kcv;
  };

  /** Cursors of the re-seal pass in progress, per table (undefined: not started). */
  let cursors: Partial<Record<Table, { id: Uint8Array; version: number }>> = {};
  const EMPTY = new Uint8Array(0);

  /** One row re-sealed: true when written; a row that does not open is left as it is (damage). */
  const resealOne = (
    table: Table,
    c: RowCodec,
    id: Uint8Array,
    envelope: Uint8Array,
    version: number,
  ): boolean => {
    let next: Uint8Array | null;
    try {
      next =
        table === 'policies'
          ? c.resealPolicy(id, envelope)
          : table === 'secrets'
            ? c.resealHead(id, envelope)
            : c.resealVersion(id, version, envelope);
    } catch (err) {
      deps.logger.warn('rotation: a damaged row was left as it is (it does not open)', {
        table,
        id: Buffer.from(id).toString('hex'),
        reason: (err as Error).message,
      });
      return false;
    }
    if (next === null) return false;
    if (table === 'secret_versions') update.secret_versions.run(next, id, version);
    else update[table].run(next, id);
    return true;
  };

  const rotation: RootKeyRotation = {
    status: () => deps.codec().ring.status(),

    begin(newRootKey, now) {
      return deps.inWrite(() => {
        const c = deps.codec();
        const current = rows();
        const newest = current.at(-1);
        if (newest?.state === 'rotating')
          throw new RotationInProgressError(newest.generation - 1, newest.generation);
        if ((newest?.generation ?? 1) !== c.ring.writeGeneration)
          throw new StoreIntegrityError('root-key generations changed behind this process');
        const row = beginRow(c.ring, newRootKey, now);
        insertRow.run(row.generation, row.keyCheck, row.state, row.startedAt, row.carry, row.up, row.down);
        deps.replaceCodec(createRowCodec(resolveKeyRing(newRootKey, keyCheck(), [...current, row])));
        cursors = {};
        deps.logger.info('root-key rotation begun', { from: row.generation - 1, to: row.generation });
      });
    },

    resealBatch(limit) {
      return deps.inWrite(() => {
        const c = deps.codec();
        const generation = generationBytes(c.ring.writeGeneration);
        let visited = 0;
        for (const table of TABLES) {
          if (visited >= limit) break;
          const at = cursors[table] ?? { id: EMPTY, version: 0 };
          const found = (
            table === 'secret_versions'
              ? pick.secret_versions.all(at.id, at.version, generation, limit - visited)
              : pick[table].all(at.id, generation, limit - visited)
          ) as Record<string, unknown>[];
          for (const r of found) {
            const id = bytes(r['id']);
            const version = table === 'secret_versions' ? Number(r['version']) : 0;
            resealOne(table, c, id, bytes(r['envelope']), version);
            cursors[table] = { id, version };
            visited++;
          }
        }
        // A pass found nothing left: the next call starts a new pass.
        if (visited === 0) cursors = {};
        return visited;
      });
    },

    countRows() {
      return Promise.resolve().then(() => {
        const c = deps.codec();
        const r = count.get(generationBytes(c.ring.writeGeneration)) as Record<string, unknown>;
        return { total: Number(r['total']), old: Number(r['old']) };
      });
    },

    finish(now) {
      return deps.inWrite(() => {
        const c = deps.codec();
        const rotating = c.ring.rotating;
        if (rotating === undefined) return true;
        const generation = generationBytes(rotating.to);
        // Rows still under the old generation: re-seal what opens; only damaged rows may remain.
        for (const table of TABLES) {
          const left = (
            table === 'secret_versions'
              ? pick.secret_versions.all(EMPTY, 0, generation, -1)
              : pick[table].all(EMPTY, generation, -1)
          ) as Record<string, unknown>[];
          for (const r of left) {
            const version = table === 'secret_versions' ? Number(r['version']) : 0;
            if (resealOne(table, c, bytes(r['id']), bytes(r['envelope']), version)) return false;
          }
        }
        markCurrent.run(now, rotating.to);
        if (rotating.from >= 2) markRetired.run(rotating.from);
        deps.replaceCodec(createRowCodec(finishedRing(c.ring, now)));
        cursors = {};
        deps.logger.info('root-key rotation finished: the old root key is retired', {
          from: rotating.from,
          to: rotating.to,
        });
        return true;
      });
    },

    refresh() {
      return Promise.resolve().then(() => {
        const c = deps.codec();
        const before = c.ring.status();
        const current = rows();
        const newest = current.at(-1);
        if (
          (newest?.generation ?? 1) === before.generation &&
          (newest?.state === 'rotating') === (before.rotating !== undefined)
        )
          return false;
        const ring = c.ring.withRoot((root) => resolveKeyRing(root, keyCheck(), current));
        deps.replaceCodec(createRowCodec(ring));
        return true;
      });
    },

    withRootKey: (fn) => deps.codec().ring.withRoot(fn),
    olderCipherKeys: () => deps.codec().ring.olderCipherKeys(),
  };

  return {
    rotation,
    resolve: (candidate, kcv) => resolveKeyRing(candidate, kcv, rows()),
  };
}

function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new StoreIntegrityError('a column is not a blob');
  return v;
}

function nullableBytes(v: unknown): Uint8Array | null {
  return v === null ? null : bytes(v);
}
