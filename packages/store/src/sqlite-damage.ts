/**
 * Damaged rows of the SQLite backend: the scans over its tables (see `damage-scan.ts`) and the
 * explicit removal of one damaged row.
 */
import type { DamagedTable, PolicyScan, SecretPathScan } from '@spike-ts/core';
import { scanPolicies, scanSecrets, tryOpen } from './damage-scan.ts';
import type { RowCodec } from './row-codec.ts';
import { blob } from './sqlite-statements.ts';
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
