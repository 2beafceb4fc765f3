/**
 * The read cache of the PostgreSQL backend: sealed rows, validated by the database before every
 * use, so that several Nexus processes (and API threads) on one database never serve a row that
 * another one has changed (ADR 0046).
 *
 * What is kept per secret path: its lookup id, its opened `secrets` row (metadata and the kept
 * version numbers and times: no value) with that row's version token, and the version rows read
 * so far, still sealed, each with its token. A value is opened (AES-GCM) per read and never kept
 * in the clear: the cache holds nothing the database does not hold, plus the metadata every read
 * opens anyway (as the SQLite backend's cache, ADR 0013).
 *
 * Validation: every read is answered by one statement issued after the read was asked for (reads
 * that arrive together share one statement: a batch). For each read the statement sends the
 * tokens of the cached rows and returns, in one snapshot, the rows' current tokens and, only for
 * rows whose token differs (or that are not cached), the rows themselves. A row's token is its
 * `xmin` (the transaction that wrote this row version: every committed UPDATE or INSERT, by
 * Nexus or by anyone else with SQL, makes a new one) and, for the `secrets` row, also its
 * `revision` column (bumped by every write of Nexus, so that an `xmin` repeating after 2^32
 * transactions cannot pass for the old row). So a read sees every write committed before its
 * statement started, on any replica, whether or not any notification arrived; a cached row
 * serves only while the database still holds exactly it.
 *
 * Transaction ids are unique only within one server's history: a promoted standby or a restored
 * cluster may hand out ids again (and does: the new history's writes get the very ids, and the
 * heads the very revisions, of the lost ones). The statement also returns the server's start
 * time; when it is not the one the cached tokens were read from, the cache is emptied and the
 * batch is read again without tokens. A logical restore into the running server writes every row
 * anew, with ids no row had in this run (ADR 0049).
 *
 * Size: bounded by the bytes of the sealed rows; the entry used least recently leaves first.
 */
import type pg from 'pg';
import { resolveVersion, type SecretVersionRead } from '@spike-ts/core';
import type { RowCodec, SecretHead } from './row-codec.ts';
import { PG_SCHEMA } from './postgres-schema.ts';
import { checkTimes, openHeadAt, orphanVersionsError } from './secret-rows.ts';
import { StoreIntegrityError } from './store-error.ts';

const S = PG_SCHEMA;

/**
 * The token of the policies' state (ADR 0032, 0049), from the `policies` row of `revisions` as
 * `r`: its counter, its `xmin` and the server's start time (µs since 1970), as
 * `revision/xmin/start`. The counter alone repeats in another history of the database: after a
 * failover to a standby that had not received the last policy changes, or a restore of an older
 * copy, the next changes count the same numbers again with other policies. The row's `xmin` is new
 * for every row version written while one server runs (a logical restore too writes the row anew);
 * the start time is new for every server run, and only a new run (a promoted standby, a restored
 * data directory) can hand out transaction ids again. So one token never names two states of the
 * policies, and a process tagged with a token of a lost history reloads. Needs only `SELECT` on
 * the table.
 */
export const POLICY_TOKEN_SQL = `r.revision::text || '/' || r.xmin::text || '/'
    || (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text`;

/**
 * One statement for a batch of reads. Per read (`ord`): the wanted version (`want`, 0 = current),
 * the current version of the cached head (`cur`), the cached head's token (`hv`) and the cached
 * version row's number and token (`vv`, `vx`). Returned per read: the head's token and its
 * envelope unless the token matched; version rows with their tokens and envelopes unless the
 * token of the cached one and the head's token both matched (a version row's token is only its
 * 32-bit `xmin`, the head's also the revision every write moves, and every write of a version row
 * writes the head too: ADR 0049). Which version rows: the wanted one; for `want = 0` the
 * cached current one while the head is unchanged, else every kept one (the current version is
 * known only after opening the new head); without a head, every row there is (orphans are
 * damage). Row 0 carries the server's start time; row -1, when `$7` asks for it, the policies'
 * token (`POLICY_TOKEN_SQL`, ADR 0032, 0049), so that the revision checks before policy decisions ride on the same
 * statements as the reads instead of statements of their own.
 */
export const READ_BATCH_SQL = `SELECT k.ord::int AS ord, h.hv,
    CASE WHEN h.hv = k.hv THEN NULL ELSE h.envelope END AS head,
    v.version::text AS version, v.vx,
    CASE WHEN v.version = k.vv AND v.vx = k.vx AND h.hv = k.hv THEN NULL ELSE v.envelope END AS envelope
  FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[])
    WITH ORDINALITY AS k(id, want, cur, hv, vv, vx, ord)
  LEFT JOIN LATERAL (SELECT s.xmin::text || '/' || s.revision::text AS hv, s.envelope
    FROM ${S}.secrets s WHERE s.path_id = k.id OFFSET 0) h ON true
  LEFT JOIN LATERAL (SELECT w.version, w.xmin::text AS vx, w.envelope
    FROM ${S}.secret_versions w WHERE w.path_id = k.id
      AND (w.version = k.want OR h.hv IS NULL OR (k.want = 0 AND (w.version = k.cur OR h.hv IS DISTINCT FROM k.hv)))
    OFFSET 0) v ON true
  UNION ALL SELECT 0, pg_postmaster_start_time()::text, NULL, NULL, NULL, NULL
  UNION ALL SELECT -1, ${POLICY_TOKEN_SQL}, NULL, NULL, NULL, NULL FROM ${S}.revisions r
    WHERE r.name = 'policies' AND $7::boolean`;

/** A row of `READ_BATCH_SQL`. */
export interface ReadBatchRow {
  ord: number;
  hv: string | null;
  head: unknown;
  version: string | null;
  vx: string | null;
  envelope: unknown;
}

interface CachedVersion {
  readonly sealed: Uint8Array;
  readonly token: string;
}

interface Entry {
  readonly id: Uint8Array;
  readonly head: SecretHead;
  readonly headToken: string;
  readonly versions: Map<number, CachedVersion>;
  /** When the head was read (ms): entries older than `maxAgeMs` are read again. */
  readonly at: number;
  bytes: number;
}

/** Default budget: 64 MiB of sealed rows, as the SQLite backend's cache. */
export const DEFAULT_PG_READ_CACHE_BYTES = 64 * 1024 * 1024;
/** Reads per statement at most. */
const MAX_BATCH = 256;
/** An entry is read again after this long, whatever its tokens say (belt and braces). */
const MAX_AGE_MS = 10 * 60_000;
/** What an entry costs besides its sealed rows (lookup id, opened head, map): an estimate. */
const ENTRY_OVERHEAD = 512;

export interface PgReadCacheOptions {
  /** Runs one statement (a named query) and returns its rows. */
  readonly query: (config: pg.QueryConfig) => Promise<ReadBatchRow[]>;
  /** Bytes of sealed rows kept at most; 0 keeps nothing (every read fetches its rows). */
  readonly budgetBytes?: number;
  /** Told whether each read was answered from cached rows (`hit`) or needed rows sent. */
  readonly onRead?: (hit: boolean) => void;
  readonly now?: () => number;
}

export interface PgVersionReader {
  /** One version (0 = current) with the secret's metadata; undefined when there is no secret. */
  read(codec: RowCodec, path: string, version: number): Promise<SecretVersionRead | undefined>;
  /**
   * The policies' token (`POLICY_TOKEN_SQL`), read by a statement issued after this call,
   * together with the reads asked for meanwhile; null when the row is missing.
   */
  policyRevision(): Promise<string | null>;
  /** Forgets every entry (a new codec, or closing). */
  clear(): void;
  readonly size: number;
  readonly bytes: number;
}

interface ReadJob {
  readonly kind: 'read';
  readonly codec: RowCodec;
  readonly path: string;
  readonly version: number;
  readonly resolve: (value: SecretVersionRead | undefined) => void;
  readonly reject: (err: unknown) => void;
}

/** A read of the policies' token (null when the row is missing). */
interface RevisionJob {
  readonly kind: 'revision';
  readonly resolve: (value: string | null) => void;
  readonly reject: (err: unknown) => void;
}

type Job = ReadJob | RevisionJob;

/** One read of a batch: the jobs asking the same thing, and what the cache held when it left. */
interface Ask {
  readonly jobs: ReadJob[];
  readonly codec: RowCodec;
  readonly path: string;
  readonly version: number;
  readonly id: Uint8Array;
  readonly entry: Entry | undefined;
}

function bytesOf(value: unknown, where: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new StoreIntegrityError(`${where}: column envelope is not bytes`);
  return value;
}

function versionNumber(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new StoreIntegrityError('table secret_versions: column version is not a version number');
  }
  return n;
}

/** Throws `RangeError` unless `bytes` is a usable cache budget. */
export function checkReadCacheBytes(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError('read cache budget must be a non-negative integer (bytes)');
  }
}

export function createPgVersionReader(options: PgReadCacheOptions): PgVersionReader {
  const budget = options.budgetBytes ?? DEFAULT_PG_READ_CACHE_BYTES;
  checkReadCacheBytes(budget);
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let total = 0;
  /** The start time of the server the cached tokens were read from. */
  let epoch: string | undefined;
  let pending: Job[] = [];
  let running = false;
  let scheduled = false;

  const drop = (path: string): void => {
    const e = entries.get(path);
    if (e === undefined) return;
    entries.delete(path);
    total -= e.bytes;
  };
  const clear = (): void => {
    entries.clear();
    total = 0;
  };
  const evict = (): void => {
    for (const [path, e] of entries) {
      if (total <= budget) break;
      entries.delete(path);
      total -= e.bytes;
    }
  };
  const keep = (path: string, entry: Entry): void => {
    drop(path);
    if (budget === 0) return;
    entries.set(path, entry);
    total += entry.bytes;
    evict();
  };
  const keepVersion = (path: string, entry: Entry, version: number, cached: CachedVersion): void => {
    if (entries.get(path) !== entry || entry.versions.get(version)?.token === cached.token) return;
    const before = entry.versions.get(version)?.sealed.byteLength ?? 0;
    entry.versions.set(version, cached);
    entry.bytes += cached.sealed.byteLength - before;
    total += cached.sealed.byteLength - before;
    evict();
  };
  /** The usable entry of `path`, marked as the most recently used. */
  const lookup = (path: string): Entry | undefined => {
    const e = entries.get(path);
    if (e === undefined) return undefined;
    entries.delete(path);
    if (now() - e.at > MAX_AGE_MS) {
      total -= e.bytes;
      return undefined;
    }
    entries.set(path, e);
    return e;
  };

  /** The asks of a batch: jobs for the same path and version share one. */
  const asksOf = (jobs: readonly Job[], withCache: boolean): Ask[] => {
    const byKey = new Map<string, Ask>();
    for (const job of jobs) {
      if (job.kind !== 'read') continue;
      const key = `${String(job.version)} ${job.path}`;
      const same = byKey.get(key);
      if (same !== undefined && same.codec === job.codec) {
        same.jobs.push(job);
        continue;
      }
      const entry = withCache ? lookup(job.path) : undefined;
      const id = entry?.id ?? job.codec.pathId(job.path);
      byKey.set(same === undefined ? key : `${key} ${String(byKey.size)}`, {
        jobs: [job],
        codec: job.codec,
        path: job.path,
        version: job.version,
        id,
        entry,
      });
    }
    return [...byKey.values()];
  };

  const statement = (asks: readonly Ask[], revision: boolean): pg.QueryConfig => {
    const ids: Buffer[] = [];
    const want: number[] = [];
    const cur: (number | null)[] = [];
    const hv: (string | null)[] = [];
    const vv: (number | null)[] = [];
    const vx: (string | null)[] = [];
    for (const a of asks) {
      ids.push(Buffer.from(a.id.buffer, a.id.byteOffset, a.id.byteLength));
      want.push(a.version);
      const e = a.entry;
      if (e === undefined) {
        cur.push(null);
        hv.push(null);
        vv.push(null);
        vx.push(null);
        continue;
      }
      const expected = a.version === 0 ? e.head.metadata.currentVersion : a.version;
      const cached = e.versions.get(expected);
      cur.push(e.head.metadata.currentVersion);
      hv.push(e.headToken);
      vv.push(cached === undefined ? null : expected);
      vx.push(cached?.token ?? null);
    }
    return {
      name: 'spike_readBatch',
      text: READ_BATCH_SQL,
      values: [ids, want, cur, hv, vv, vx, revision],
    };
  };

  /** Answers one ask from its rows (all rows of one `ord`), updating the cache. */
  const answer = (a: Ask, rows: readonly ReadBatchRow[]): SecretVersionRead | undefined => {
    const first = rows[0];
    const versionRows = rows.filter((r) => r.version !== null);
    if (first === undefined || first.hv === null) {
      drop(a.path);
      if (versionRows.length > 0) throw orphanVersionsError();
      options.onRead?.(false);
      return undefined;
    }
    let entry: Entry;
    const headHit = first.head === null;
    if (headHit) {
      // The database still holds the head this entry was opened from.
      if (a.entry === undefined || a.entry.headToken !== first.hv) {
        throw new Error('read cache: a head matched no cached token');
      }
      entry = a.entry;
    } else {
      drop(a.path);
      const head = openHeadAt(a.codec, a.id, a.path, bytesOf(first.head, 'table secrets'));
      entry = {
        id: a.id,
        head,
        headToken: first.hv,
        versions: new Map(),
        at: now(),
        bytes: ENTRY_OVERHEAD + a.path.length * 2,
      };
      keep(a.path, entry);
    }
    const { head } = entry;
    const wanted = resolveVersion(a.version, head.metadata.currentVersion);
    const index = head.versions.indexOf(wanted);
    if (wanted === 0 || index < 0) {
      options.onRead?.(headHit);
      return { path: a.path, metadata: head.metadata, version: undefined };
    }
    const row = versionRows.find((r) => versionNumber(r.version as string) === wanted);
    if (row === undefined || row.vx === null) {
      throw new StoreIntegrityError('table secret_versions: a version row the secret lists is missing');
    }
    let sealed: Uint8Array;
    const versionHit = row.envelope === null;
    if (versionHit) {
      const cached = a.entry?.versions.get(wanted);
      if (cached === undefined || cached.token !== row.vx) {
        throw new Error('read cache: a version row matched no cached token');
      }
      sealed = cached.sealed;
    } else {
      sealed = bytesOf(row.envelope, 'table secret_versions');
    }
    let opened;
    try {
      opened = a.codec.openVersion(a.id, wanted, sealed);
    } catch (err) {
      drop(a.path);
      throw err;
    }
    keepVersion(a.path, entry, wanted, { sealed, token: row.vx });
    options.onRead?.(headHit && versionHit);
    const times = head.times?.[index];
    return {
      path: a.path,
      metadata: head.metadata,
      version: times === undefined ? opened : checkTimes(opened, times[0], times[1]),
    };
  };

  const runBatch = async (jobs: Job[]): Promise<void> => {
    let asks = asksOf(jobs, true);
    const usedCache = asks.some((a) => a.entry !== undefined);
    const revision = jobs.some((j) => j.kind === 'revision');
    let rows = await options.query(statement(asks, revision));
    let serverStart = rows.find((r) => r.ord === 0)?.hv ?? undefined;
    if (serverStart !== epoch) {
      // Another server than the one the cached tokens came from: its transaction ids say nothing
      // about those rows. Start from an empty cache, and read this batch again without tokens.
      clear();
      epoch = serverStart;
      if (usedCache) {
        asks = asksOf(jobs, false);
        rows = await options.query(statement(asks, revision));
        serverStart = rows.find((r) => r.ord === 0)?.hv ?? undefined;
        if (serverStart !== epoch) {
          clear();
          epoch = serverStart;
        }
      }
    }
    const byOrd = new Map<number, ReadBatchRow[]>();
    let policies: string | null = null;
    for (const r of rows) {
      if (r.ord === -1) policies = r.hv;
      if (r.ord <= 0) continue;
      const list = byOrd.get(r.ord);
      if (list === undefined) byOrd.set(r.ord, [r]);
      else list.push(r);
    }
    for (const [i, a] of asks.entries()) {
      let result: SecretVersionRead | undefined;
      try {
        result = answer(a, byOrd.get(i + 1) ?? []);
      } catch (err) {
        for (const job of a.jobs) job.reject(err);
        continue;
      }
      for (const job of a.jobs) job.resolve(result);
    }
    for (const job of jobs) if (job.kind === 'revision') job.resolve(policies);
  };

  // One statement in flight at a time: reads that arrive meanwhile leave together in the next
  // one, issued after all of them were asked for.
  const launch = (): void => {
    scheduled = false;
    if (running || pending.length === 0) return;
    const jobs = pending.length <= MAX_BATCH ? pending : pending.slice(0, MAX_BATCH);
    pending = pending.length <= MAX_BATCH ? [] : pending.slice(MAX_BATCH);
    running = true;
    runBatch(jobs)
      .catch((err: unknown) => {
        for (const job of jobs) job.reject(err);
      })
      .finally(() => {
        running = false;
        schedule();
      });
  };
  const schedule = (): void => {
    if (scheduled || running || pending.length === 0) return;
    scheduled = true;
    // Reads asked for in this turn of the event loop leave together.
    setImmediate(launch);
  };

  return {
    read(codec, path, version) {
      return new Promise((resolve, reject) => {
        pending.push({ kind: 'read', codec, path, version, resolve, reject });
        schedule();
      });
    },
    policyRevision() {
      return new Promise((resolve, reject) => {
        pending.push({ kind: 'revision', resolve, reject });
        schedule();
      });
    },
    clear,
    get size() {
      return entries.size;
    },
    get bytes() {
      return total;
    },
  };
}
