/**
 * Damaged rows of the SQLite backend: the scans over its tables (see `damage-scan.ts`) and the
 * explicit removal of one damaged row.
 */
import type { DamagedTable, PolicyScan, SecretPathScan } from '@spike-ts/core';
import {
  planVersionRemoval,
  scanPolicies,
  scanSecrets,
  tryOpen,
  type JoinedVersionRow,
  type VersionRemoval,
} from './damage-scan.ts';
import type { RowCodec } from './row-codec.ts';
import { blob, integer } from './sqlite-statements.ts';
import type { Row, Statements } from './sqlite-statements.ts';

export function scanPolicyRows(s: Statements, codec: RowCodec): PolicyScan {
  const where = 'table policies';
  const rows = s.allPolicies
    .all()
    .map((r) => ({ id: blob(r, 'name_id', where), envelope: blob(r, 'envelope', where) }));
  return scanPolicies(rows, codec);
}

export function scanSecretRows(s: Statements, codec: RowCodec): SecretPathScan {
  const where = 'table secrets';
  const heads = s.allHeads
    .all()
    .map((r) => ({ id: blob(r, 'path_id', where), envelope: blob(r, 'envelope', where) }));
  const orphans = (s.orphanVersionIds.all() as Row[]).map((r) => blob(r, 'path_id', 'table secret_versions'));
  return scanSecrets(heads, orphans, codec);
}

/**
 * Deletes the damaged row at `id` (inside the caller's write transaction). A row that opens is
 * not damaged and stays; so does a place with no row. Returns whether anything was deleted.
 */
export function removeDamagedPlace(
  s: Statements,
  codec: RowCodec,
  table: DamagedTable,
  id: Uint8Array,
): boolean {
  if (table === 'policies') {
    const row = s.getPolicy.get(id);
    if (row === undefined) return false;
    const envelope = blob(row, 'envelope', 'table policies');
    if (tryOpen(() => codec.openPolicy(id, envelope)) !== undefined) return false;
    return Number(s.deletePolicy.run(id).changes) > 0;
  }
  const head = s.getHead.get(id);
  if (head !== undefined) {
    const envelope = blob(head, 'envelope', 'table secrets');
    if (tryOpen(() => codec.openHead(id, envelope)) !== undefined) return false;
    s.deleteHead.run(id);
    s.deleteAllVersions.run(id);
    return true;
  }
  return Number(s.deleteAllVersions.run(id).changes) > 0;
}

/** One page of the version-row scan: up to `limit` secrets after `after` (ascending), with their versions. */
export function versionScanPage(s: Statements, after: Uint8Array, limit: number): JoinedVersionRow[] {
  const where = 'table secret_versions';
  return (s.versionScanPage.all(after, limit) as Row[]).map((r) => ({
    id: blob(r, 'path_id', 'table secrets'),
    head: blob(r, 'head', 'table secrets'),
    version: r['version'] === null ? null : integer(r, 'version', where),
    envelope: r['envelope'] === null ? null : blob(r, 'envelope', where),
  }));
}

/**
 * Removes the damaged version row `version` of the secret at `id` (inside the caller's write
 * transaction; see `planVersionRemoval`). Returns what was done, or undefined when the place is
 * not damaged (or its secret's row is missing or damaged itself).
 */
export function removeDamagedVersion(
  s: Statements,
  codec: RowCodec,
  id: Uint8Array,
  version: number,
  now: number,
): VersionRemoval | undefined {
  const head = s.getHead.get(id);
  const row = s.getVersion.get(id, version);
  const plan = planVersionRemoval(
    codec,
    id,
    head === undefined ? undefined : blob(head, 'envelope', 'table secrets'),
    version,
    row === undefined ? undefined : blob(row, 'envelope', 'table secret_versions'),
    now,
  );
  if (plan === undefined) return undefined;
  if (plan.deleteRow) s.deleteVersion.run(id, version);
  if (plan.head !== undefined) s.upsertHead.run(id, plan.head);
  return plan;
}
