/**
 * Damaged version rows on PostgreSQL: the paged scan that `listDamagedRows` adds to the policy and
 * secret scans, and the removal of one damaged version row (see `damage-scan.ts` for what counts
 * as damage and what removal does). Kept apart from `postgres-store.ts`, which only calls these.
 */
import type pg from 'pg';
import type { DamagedRow } from '@spike-ts/core';
import { PG_SCHEMA } from './postgres-schema.ts';
import {
  groupVersionRows,
  planVersionRemoval,
  scanVersionGroup,
  VERSION_SCAN_PAGE,
  type JoinedVersionRow,
} from './damage-scan.ts';
import type { RowCodec } from './row-codec.ts';
import { StoreIntegrityError } from './store-error.ts';

const S = PG_SCHEMA;

export const DAMAGE_SQL = {
  // The next page of secrets after a place (ascending), each with its version rows: one statement,
  // one snapshot per page.
  versionScanPage: `WITH h AS (
      SELECT path_id, envelope FROM ${S}.secrets WHERE path_id > $1 ORDER BY path_id LIMIT $2
    )
    SELECT h.path_id AS id, h.envelope AS head, v.version::text AS version, v.envelope AS envelope
    FROM h LEFT JOIN ${S}.secret_versions v ON v.path_id = h.path_id
    ORDER BY h.path_id, v.version`,
  lockedHead: `SELECT envelope FROM ${S}.secrets WHERE path_id = $1 FOR UPDATE`,
  versionRow: `SELECT envelope FROM ${S}.secret_versions WHERE path_id = $1 AND version = $2`,
  deleteVersion: `DELETE FROM ${S}.secret_versions WHERE path_id = $1 AND version = $2`,
  // Counts as a write of the secret's row, like every other write of it.
  updateHead: `UPDATE ${S}.secrets SET envelope = $2, revision = revision + 1 WHERE path_id = $1`,
} as const;

type Query = <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => Promise<R[]>;

interface PageRow {
  id: unknown;
  head: unknown;
  version: string | null;
  envelope: unknown;
}

function bytes(value: unknown, where: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new StoreIntegrityError(`${where}: a column is not bytes`);
  return value;
}

/**
 * The damaged version rows of every readable secret, read `VERSION_SCAN_PAGE` secrets at a time
 * (only one page of rows is in memory). `codec` is asked again for each page (the store may be
 * closed meanwhile).
 */
export async function scanDamagedVersions(query: Query, codec: () => RowCodec): Promise<DamagedRow[]> {
  const damaged: DamagedRow[] = [];
  let after: Uint8Array = new Uint8Array(0);
  for (;;) {
    const rows = await query<PageRow>(DAMAGE_SQL.versionScanPage, [after, VERSION_SCAN_PAGE]);
    const joined = rows.map((r): JoinedVersionRow => ({
      id: bytes(r.id, 'table secrets'),
      head: bytes(r.head, 'table secrets'),
      version: r.version === null ? null : Number(r.version),
      envelope: r.envelope === null ? null : bytes(r.envelope, 'table secret_versions'),
    }));
    const groups = groupVersionRows(joined);
    const c = codec();
    for (const group of groups) damaged.push(...scanVersionGroup(c, group));
    const last = groups[groups.length - 1];
    if (last === undefined || groups.length < VERSION_SCAN_PAGE) return damaged;
    after = last.id;
  }
}

/**
 * Removes the damaged version row `version` of the secret at `id`, inside the caller's
 * transaction, which holds the secret's write lock. Returns the secret's path, or undefined when
 * the place is not damaged (or its secret's row is missing or damaged itself).
 */
export async function removeDamagedVersionPg(
  client: pg.PoolClient,
  codec: RowCodec,
  id: Uint8Array,
  version: number,
  now: number,
): Promise<string | undefined> {
  const head = (await client.query<{ envelope: unknown }>(DAMAGE_SQL.lockedHead, [id])).rows[0];
  const row = (await client.query<{ envelope: unknown }>(DAMAGE_SQL.versionRow, [id, version])).rows[0];
  const plan = planVersionRemoval(
    codec,
    id,
    head === undefined ? undefined : bytes(head.envelope, 'table secrets'),
    version,
    row === undefined ? undefined : bytes(row.envelope, 'table secret_versions'),
    now,
  );
  if (plan === undefined) return undefined;
  if (plan.deleteRow) await client.query(DAMAGE_SQL.deleteVersion, [id, version]);
  if (plan.head !== undefined) await client.query(DAMAGE_SQL.updateHead, [id, plan.head]);
  return plan.path;
}
