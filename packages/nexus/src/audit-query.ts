/**
 * Reads back this Nexus's own audit file for the audit query route: the newest records that match
 * the filters, scanning at most the last `AUDIT_QUERY_MAX_BYTES` of the file so that a query
 * costs bounded time and memory however large the file has grown. Lines that are not audit
 * records (a torn last line, foreign text) are skipped.
 */
import { open } from 'node:fs/promises';
import type { AuditEntry } from '@spike-ts/protocol';

/** The most bytes of the audit file one query reads (its newest part). */
export const AUDIT_QUERY_MAX_BYTES = 16 * 1024 * 1024;

export interface AuditQuery {
  /** Exact `caller`; '' = any. */
  readonly principal: string;
  /** Exact `path`; '' = any. */
  readonly path: string;
  /** '' = any. */
  readonly decision: string;
  /** Inclusive lower bound on `time` (epoch ms). */
  readonly fromMs?: number | undefined;
  /** Exclusive upper bound on `time` (epoch ms). */
  readonly toMs?: number | undefined;
  readonly limit: number;
}

export interface AuditQueryResult {
  /** Newest first. */
  readonly records: AuditEntry[];
  /** More records matched than `limit`, or older records were not scanned (byte bound). */
  readonly truncated: boolean;
}

function isEntry(value: unknown): value is AuditEntry {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.time === 'string' &&
    typeof v.requestId === 'string' &&
    (v.caller === null || typeof v.caller === 'string') &&
    typeof v.route === 'string' &&
    typeof v.action === 'string' &&
    typeof v.decision === 'string' &&
    typeof v.status === 'number' &&
    typeof v.durationMs === 'number'
  );
}

function matches(entry: AuditEntry, q: AuditQuery): boolean {
  if (q.principal !== '' && entry.caller !== q.principal) return false;
  if (q.path !== '' && entry.path !== q.path) return false;
  if (q.decision !== '' && entry.decision !== q.decision) return false;
  if (q.fromMs !== undefined || q.toMs !== undefined) {
    const t = Date.parse(entry.time);
    if (Number.isNaN(t)) return false;
    if (q.fromMs !== undefined && t < q.fromMs) return false;
    if (q.toMs !== undefined && t >= q.toMs) return false;
  }
  return true;
}

/** The newest matching records of the audit file at `path` (a missing file has none). */
export async function queryAuditFile(
  path: string,
  query: AuditQuery,
  maxBytes: number = AUDIT_QUERY_MAX_BYTES,
): Promise<AuditQueryResult> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], truncated: false };
    throw err;
  }
  let text: string;
  let cut: boolean;
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(size, maxBytes);
    const start = size - length;
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(buffer, read, length - read, start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    text = buffer.subarray(0, read).toString('utf8');
    cut = start > 0;
  } finally {
    await handle.close();
  }
  const lines = text.split('\n');
  // The first line of a window that starts mid-file is partial.
  const first = cut ? 1 : 0;
  const records: AuditEntry[] = [];
  let truncated = cut;
  for (let i = lines.length - 1; i >= first; i--) {
    const line = lines[i] as string;
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isEntry(parsed) || !matches(parsed, query)) continue;
    if (records.length === query.limit) {
      truncated = true;
      break;
    }
    records.push(parsed);
  }
  return { records, truncated };
}
