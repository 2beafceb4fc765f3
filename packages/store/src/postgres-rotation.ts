/**
 * Online root-key rotation on the PostgreSQL backend (ADR 0044), for one or many Nexus processes
 * on one database. The `root_keys` row is inserted in one statement (its primary key settles two
 * processes beginning at once); rows are re-sealed in bounded batches, each written with a
 * compare-and-set on the old envelope, so any number of processes may re-seal at the same time and
 * a row a writer changed meanwhile is left to that writer (which sealed it under the newest
 * generation: a trigger refuses every row sealed under an older one). `finish` locks the data
 * tables against writers for a moment, re-checks that no row is left under the old generation
 * and retires it, in one transaction.
 */
import type pg from 'pg';
import {
  RotationInProgressError,
  verifyKeyCheckValue,
  WrongRootKeyError,
  type Logger,
  type RootKeyRotation,
} from '@spike-ts/core';
import {
  beginRow,
  finishedRing,
  generationBytes,
  resolveKeyRing,
  type GenerationRow,
  type GenerationState,
  type KeyRing,
} from './key-generations.ts';
import { PG_SCHEMA as S } from './postgres-schema.ts';
import { createRowCodec, type RowCodec } from './row-codec.ts';
import { StoreIntegrityError } from './store-error.ts';

export interface PgRotationDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  codec(): RowCodec;
  replaceCodec(next: RowCodec): void;
  /** Drops the keys: every call fails as locked until the next `unlock`. */
  forget(): void;
  readKeyCheck(): Promise<Uint8Array | undefined>;
  /** Wraps a store call (error mapping, tracking for close). */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

type Table = 'policies' | 'secrets' | 'secret_versions';
const TABLES: readonly Table[] = ['policies', 'secrets', 'secret_versions'];
const KEY: Record<Table, string> = { policies: 'name_id', secrets: 'path_id', secret_versions: 'path_id' };

const SQL = {
  rows: `SELECT generation::text AS generation, key_check, state, started_at::text AS started_at,
      finished_at::text AS finished_at, carry, up, down FROM ${S}.root_keys ORDER BY generation`,
  insert: `INSERT INTO ${S}.root_keys (generation, key_check, state, started_at, carry, up, down)
      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (generation) DO NOTHING`,
  markCurrent: `UPDATE ${S}.root_keys SET state = 'current', finished_at = $1, up = NULL, down = NULL
      WHERE generation = $2 AND state = 'rotating'`,
  markRetired: `UPDATE ${S}.root_keys SET state = 'retired', carry = NULL WHERE generation = $1`,
  count: `SELECT (SELECT count(*) FROM ${S}.policies) + (SELECT count(*) FROM ${S}.secrets)
      + (SELECT count(*) FROM ${S}.secret_versions) AS total,
      (SELECT count(*) FROM ${S}.policies WHERE substring(envelope from 2 for 4) <> $1)
      + (SELECT count(*) FROM ${S}.secrets WHERE substring(envelope from 2 for 4) <> $1)
      + (SELECT count(*) FROM ${S}.secret_versions WHERE substring(envelope from 2 for 4) <> $1) AS old`,
  pick: (table: Table, all: boolean): string =>
    table === 'secret_versions'
      ? `SELECT path_id AS id, version::text AS version, envelope FROM ${S}.secret_versions
         WHERE ${all ? '' : '(path_id, version) > ($3, $4) AND '}substring(envelope from 2 for 4) <> $1
         ORDER BY path_id, version LIMIT $2`
      : `SELECT ${KEY[table]} AS id, envelope FROM ${S}.${table}
         WHERE ${all ? '' : `${KEY[table]} > $3 AND `}substring(envelope from 2 for 4) <> $1
         ORDER BY ${KEY[table]} LIMIT $2`,
  // Compare-and-set: a row changed since it was read is left alone.
  update: (table: Table): string =>
    table === 'secret_versions'
      ? `UPDATE ${S}.secret_versions t SET envelope = u.next
         FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bytea[]) AS u(id, version, old, next)
         WHERE t.path_id = u.id AND t.version = u.version AND t.envelope = u.old`
      : `UPDATE ${S}.${table} t SET envelope = u.next
         FROM unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS u(id, old, next)
         WHERE t.${KEY[table]} = u.id AND t.envelope = u.old`,
  lockTables: `LOCK TABLE ${S}.policies, ${S}.secrets, ${S}.secret_versions IN SHARE MODE`,
  lockGenerations: `LOCK TABLE ${S}.root_keys IN SHARE ROW EXCLUSIVE MODE`,
} as const;

export interface PgRotation {
  readonly rotation: RootKeyRotation;
  resolve(candidate: Uint8Array, keyCheck: Uint8Array): Promise<KeyRing>;
}

interface PickedRow {
  id: Uint8Array;
  version: number;
  envelope: Uint8Array;
}

export function createPgRotation(deps: PgRotationDeps): PgRotation {
  const { pool } = deps;

  const toRows = (result: pg.QueryResult): GenerationRow[] =>
    (result.rows as Record<string, unknown>[]).map((r) => ({
      generation: Number(r['generation']),
      keyCheck: bytes(r['key_check']),
      state: r['state'] as GenerationState,
      startedAt: Number(r['started_at']),
      finishedAt: r['finished_at'] === null ? null : Number(r['finished_at']),
      carry: nullableBytes(r['carry']),
      up: nullableBytes(r['up']),
      down: nullableBytes(r['down']),
    }));
  const rows = async (client?: pg.PoolClient): Promise<GenerationRow[]> =>
    toRows(await (client ?? pool).query(SQL.rows));

  const keyCheck = async (): Promise<Uint8Array> => {
    const kcv = await deps.readKeyCheck();
    if (kcv === undefined) throw new StoreIntegrityError('table meta: the key-check value is missing');
    return kcv;
  };

  const transaction = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error('rollback failed');
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };

  const pickRows = async (
    client: pg.ClientBase | pg.Pool,
    table: Table,
    generation: Uint8Array,
    limit: number | null,
    after?: { id: Uint8Array; version: number },
  ): Promise<PickedRow[]> => {
    const params: unknown[] = [generation, limit];
    if (after !== undefined) params.push(after.id, ...(table === 'secret_versions' ? [after.version] : []));
    const result = await client.query(SQL.pick(table, after === undefined), params);
    return (result.rows as Record<string, unknown>[]).map((r) => ({
      id: bytes(r['id']),
      version: table === 'secret_versions' ? Number(r['version']) : 0,
      envelope: bytes(r['envelope']),
    }));
  };

  /** The re-sealed envelope, or null for a row that is current already or does not open (damage). */
  const resealed = (c: RowCodec, table: Table, row: PickedRow): Uint8Array | null => {
    try {
      return table === 'policies'
        ? c.resealPolicy(row.id, row.envelope)
        : table === 'secrets'
          ? c.resealHead(row.id, row.envelope)
          : c.resealVersion(row.id, row.version, row.envelope);
    } catch (err) {
      deps.logger.warn('rotation: a damaged row was left as it is (it does not open)', {
        table,
        id: Buffer.from(row.id).toString('hex'),
        reason: (err as Error).message,
      });
      return null;
    }
  };

  const writeResealed = async (
    client: pg.ClientBase | pg.Pool,
    table: Table,
    done: { row: PickedRow; next: Uint8Array }[],
  ): Promise<number> => {
    if (done.length === 0) return 0;
    const ids = done.map((d) => Buffer.from(d.row.id));
    const olds = done.map((d) => Buffer.from(d.row.envelope));
    const nexts = done.map((d) => Buffer.from(d.next));
    const params =
      table === 'secret_versions' ? [ids, done.map((d) => d.row.version), olds, nexts] : [ids, olds, nexts];
    const r = await client.query(SQL.update(table), params);
    return r.rowCount ?? 0;
  };

  let cursors: Partial<Record<Table, { id: Uint8Array; version: number }>> = {};

  const rotation: RootKeyRotation = {
    status: () => deps.codec().ring.status(),

    begin(newRootKey, now) {
      return deps.run(async () => {
        const c = deps.codec();
        const current = await rows();
        const newest = current.at(-1);
        if (newest?.state === 'rotating')
          throw new RotationInProgressError(newest.generation - 1, newest.generation);
        if ((newest?.generation ?? 1) !== c.ring.writeGeneration)
          throw new StoreIntegrityError('root-key generations changed behind this process; try again');
        const row = beginRow(c.ring, newRootKey, now);
        const inserted = await pool.query(SQL.insert, [
          row.generation,
          row.keyCheck,
          row.state,
          row.startedAt,
          row.carry,
          row.up,
          row.down,
        ]);
        if ((inserted.rowCount ?? 0) === 0) {
          // Another process began the same generation first.
          throw new RotationInProgressError(row.generation - 1, row.generation);
        }
        deps.replaceCodec(createRowCodec(resolveKeyRing(newRootKey, await keyCheck(), [...current, row])));
        cursors = {};
        deps.logger.info('root-key rotation begun', { from: row.generation - 1, to: row.generation });
      });
    },

    resealBatch(limit) {
      return deps.run(async () => {
        const c = deps.codec();
        const generation = generationBytes(c.ring.writeGeneration);
        let visited = 0;
        for (const table of TABLES) {
          if (visited >= limit) break;
          const at = cursors[table] ?? { id: new Uint8Array(0), version: 0 };
          const found = await pickRows(pool, table, generation, limit - visited, at);
          const done: { row: PickedRow; next: Uint8Array }[] = [];
          for (const row of found) {
            const next = resealed(c, table, row);
            if (next !== null) done.push({ row, next });
            cursors[table] = { id: row.id, version: row.version };
            visited++;
          }
          await writeResealed(pool, table, done);
        }
        if (visited === 0) cursors = {};
        return visited;
      });
    },

    countRows() {
      return deps.run(async () => {
        const c = deps.codec();
        const r = (await pool.query(SQL.count, [generationBytes(c.ring.writeGeneration)])).rows[0] as
          Record<string, unknown> | undefined;
        return { total: Number(r?.['total'] ?? 0), old: Number(r?.['old'] ?? 0) };
      });
    },

    finish(now) {
      return deps.run(async () => {
        const c = deps.codec();
        const rotating = c.ring.rotating;
        if (rotating === undefined) return true;
        const generation = generationBytes(rotating.to);
        const finished = await transaction(async (client) => {
          // No writer between the check and the retirement (writers wait for this transaction).
          await client.query(SQL.lockGenerations);
          await client.query(SQL.lockTables);
          const newest = (await rows(client)).at(-1);
          if (newest?.generation !== rotating.to || newest.state !== 'rotating') return 'elsewhere';
          for (const table of TABLES) {
            const left = await pickRows(client, table, generation, null);
            const done = left.flatMap((row) => {
              const next = resealed(c, table, row);
              return next === null ? [] : [{ row, next }];
            });
            if ((await writeResealed(client, table, done)) > 0) return 'more';
          }
          await client.query(SQL.markCurrent, [now, rotating.to]);
          if (rotating.from >= 2) await client.query(SQL.markRetired, [rotating.from]);
          return 'done';
        });
        if (finished === 'more') return false;
        if (finished === 'elsewhere') {
          await rotation.refresh();
          return deps.codec().ring.rotating === undefined;
        }
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
      return deps.run(async () => {
        const c = deps.codec();
        const before = c.ring.status();
        const current = await rows();
        const newest = current.at(-1);
        const kcv = await keyCheck();
        if (
          (newest?.generation ?? 1) === before.generation &&
          (newest?.state === 'rotating') === (before.rotating !== undefined)
        ) {
          // The same generation number must also be the same key: after a restore of the database
          // from before a rotation (or a failover that lost one), a new rotation numbers its key
          // as the lost one was numbered (ADR 0049). Rows sealed with this process's key would
          // then pass the generation trigger and open for nobody else: stop using it.
          if (c.ring.withRoot((root) => verifyKeyCheckValue(root, newest?.keyCheck ?? kcv))) return false;
          deps.forget();
          deps.logger.error(
            "root-key generation replaced: the database's newest generation is not the key this process holds (the database was restored or failed over); its keys are dropped",
            { generation: before.generation },
          );
          throw new WrongRootKeyError();
        }
        const ring = c.ring.withRoot((root) => resolveKeyRing(root, kcv, current));
        deps.replaceCodec(createRowCodec(ring));
        deps.logger.info('root-key generations changed (a rotation elsewhere)', {
          generation: ring.writeGeneration,
          rotating: ring.rotating !== undefined,
        });
        return true;
      });
    },

    withRootKey: (fn) => deps.codec().ring.withRoot(fn),
    olderCipherKeys: () => deps.codec().ring.olderCipherKeys(),
  };

  return {
    rotation,
    resolve: async (candidate, kcv) => resolveKeyRing(candidate, kcv, await rows()),
  };
}

function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new StoreIntegrityError('a column is not bytes');
  return v;
}

function nullableBytes(v: unknown): Uint8Array | null {
  return v === null ? null : bytes(v);
}
