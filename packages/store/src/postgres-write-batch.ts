/**
 * Group commit for the PostgreSQL backend: concurrent secret updates of one process are applied
 * in one transaction, so they share its round trips, its statements and its one `COMMIT` (one
 * WAL flush) instead of paying each their own (ADR 0045). A caller's promise still settles only
 * after the transaction that holds its change has committed, or failed.
 *
 * One batch is one transaction of three messages:
 * 1. `BEGIN`, the advisory locks of every secret in the batch (one statement, keys in ascending
 *    order, so batches of several processes never deadlock) and the read of every secret's rows
 *    (its own statement, so its snapshot is taken once every lock is held and sees every earlier
 *    writer's commit, in any process);
 * 2. one statement that writes every changed secret (heads, new and changed versions, pruned
 *    versions, as arrays);
 * 3. `COMMIT`, alone, so a lost answer is the only unknown outcome (ADR 0032).
 *
 * Per caller:
 * - The mutators of one secret run in call order, each on the state the previous one left
 *   (`place-batch-queue.ts` keeps two batches from holding one secret).
 * - A mutator that throws, or returns a record the store refuses, fails only its own caller,
 *   having written nothing. A secret whose rows are damaged fails only its own callers.
 * - A caller whose answer cannot depend on the batch (its mutator changed nothing and no earlier
 *   caller of the same secret in the batch did) is answered at once. Every other caller is
 *   answered by the batch's outcome: its own result or error once `COMMIT` returned; the batch's
 *   error otherwise (503 when nothing was committed, 500 `api_outcome_unknown` for every one of
 *   them when the `COMMIT` answer was lost).
 * - When the server refused a statement of a batch for its data (a data exception, a constraint,
 *   a limit; not a lost connection or a timeout), the transaction rolled back and its callers are
 *   retried one at a time, each in a transaction of its own, so one bad write fails only itself.
 *   Mutators are pure (the store port's rule), so running one again is safe.
 */
import type pg from 'pg';
import type { PoolClient } from 'pg';
import type { Logger, SecretMutation, SecretRecord } from '@spike-ts/core';
import { createBatchQueue, type PlacedJob } from './place-batch-queue.ts';
import { secretRows, type SecretRow } from './postgres-rows.ts';
import { PG_SCHEMA } from './postgres-schema.ts';
import { copySecretRecord } from './record-copy.ts';
import type { RowCodec } from './row-codec.ts';
import { assembleSecret } from './secret-rows.ts';
import { planSecretWrite } from './secret-write.ts';
import { InvalidRecordError } from './store-error.ts';

const S = PG_SCHEMA;
/** First half of the advisory lock key of a secret's writers ("SPKS"); the second is from its id. */
export const SECRET_LOCK = 0x53504b53;

/** Second half of the advisory lock key of a secret's writers: the first 4 bytes of its id. */
export function secretLockKey(id: Uint8Array): number {
  return Buffer.from(id.buffer, id.byteOffset, 4).readInt32BE(0);
}

/** Mutations in one transaction at most (each secret's rows are read and written in it). */
export const DEFAULT_MAX_BATCH = 64;
/** Transactions of one process's batches at once (one pooled connection each). */
export const DEFAULT_MAX_IN_FLIGHT = 2;

/**
 * Every write of a batch in one statement: heads upserted, pruned versions deleted, new and
 * changed versions upserted. A place appears at most once among the heads and a (place,
 * version) at most once among the versions, and no version is both deleted and written
 * (`planSecretWrite` plans each secret's rows once, from the state before the batch to the state
 * after it), so the parts never touch one row twice.
 */
const WRITE_SECRETS = `WITH head AS (
    INSERT INTO ${S}.secrets (path_id, envelope)
    SELECT * FROM unnest($1::bytea[], $2::bytea[])
    ON CONFLICT (path_id) DO UPDATE SET envelope = EXCLUDED.envelope, revision = ${S}.secrets.revision + 1
  ), gone AS (
    DELETE FROM ${S}.secret_versions v USING unnest($3::bytea[], $4::bigint[]) AS g(path_id, version)
    WHERE v.path_id = g.path_id AND v.version = g.version
  )
  INSERT INTO ${S}.secret_versions (path_id, version, envelope)
  SELECT * FROM unnest($5::bytea[], $6::bigint[], $7::bytea[])
  ON CONFLICT (path_id, version) DO UPDATE SET envelope = EXCLUDED.envelope`;

/**
 * The opening message of a batch: `BEGIN`, the locks and the read, three statements in one simple
 * query (one round trip). Simple queries take no parameters, so the values are written in:
 * integers, and lookup ids as hex digits; nothing a caller sends reaches this text.
 */
export function openingMessage(ids: readonly Uint8Array[]): string {
  const keys = [...new Set(ids.map(secretLockKey))].sort((a, b) => a - b);
  const places = ids
    .map((id) => `decode('${Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')}', 'hex')`)
    .join(', ');
  return (
    `BEGIN; SELECT pg_advisory_xact_lock(${String(SECRET_LOCK)}, t.k) FROM unnest('{${keys.join(',')}}'::int4[]) AS t(k); ` +
    `SELECT p.ord::int4 AS ord, s.envelope AS head, v.version::text AS version, v.envelope AS envelope
    FROM unnest(ARRAY[${places}]) WITH ORDINALITY AS p(id, ord)
    LEFT JOIN ${S}.secrets s ON s.path_id = p.id
    LEFT JOIN ${S}.secret_versions v ON v.path_id = p.id
    ORDER BY p.ord, v.version`
  );
}

export interface SecretWriterOptions {
  /**
   * Runs `fn` in one transaction whose first message is `opening` (its results are `opened`);
   * commits when `fn` resolves, rolls back when it throws; throws `StoreOutcomeUnknownError`
   * when the `COMMIT` answer was lost.
   */
  transaction<T>(
    fn: (client: PoolClient, opened: pg.QueryResult[]) => Promise<T>,
    opening: string,
  ): Promise<T>;
  /**
   * Whether a batch that failed with `err` rolled back because the server refused its data
   * (then its callers are retried one at a time), as opposed to the database being unreachable
   * or the outcome unknown.
   */
  refusedData(err: unknown): boolean;
  /**
   * The row codec, taken when a batch starts rather than when its callers called: a root-key
   * rotation may have replaced the one they saw (lookup ids stay the same). Throws when locked.
   */
  codec(): RowCodec;
  logger: Logger;
  /** Told the number of callers answered by each committed batch (metrics). */
  batchCommitted?(size: number): void;
  maxBatch?: number;
  maxInFlight?: number;
}

export interface SecretWriter {
  /** Atomic read-modify-write of one secret, batched with concurrent ones; see the header. */
  write<T>(
    path: string,
    id: Uint8Array,
    mutate: (current: SecretRecord | undefined) => SecretMutation<T>,
  ): Promise<T>;
}

interface Job extends PlacedJob {
  readonly path: string;
  readonly id: Uint8Array;
  mutate(current: SecretRecord | undefined): SecretMutation<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** A caller's answer, known before its batch's outcome is. */
type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly err: unknown };

/** The jobs of one secret in a batch, in call order. */
interface Group {
  readonly path: string;
  readonly id: Uint8Array;
  readonly jobs: Job[];
}

/** The rows one batch writes, as the arrays of `WRITE_SECRETS`. */
class BatchRows {
  readonly headIds: Buffer[] = [];
  readonly heads: Buffer[] = [];
  readonly goneIds: Buffer[] = [];
  readonly goneVersions: number[] = [];
  readonly versionIds: Buffer[] = [];
  readonly versionNumbers: number[] = [];
  readonly versions: Buffer[] = [];

  get empty(): boolean {
    return this.headIds.length === 0;
  }
  values(): unknown[] {
    return [
      this.headIds,
      this.heads,
      this.goneIds,
      this.goneVersions,
      this.versionIds,
      this.versionNumbers,
      this.versions,
    ];
  }
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function groupsOf(jobs: readonly Job[]): Group[] {
  const byPlace = new Map<string, Group>();
  for (const job of jobs) {
    let g = byPlace.get(job.place);
    if (g === undefined) {
      g = { path: job.path, id: job.id, jobs: [] };
      byPlace.set(job.place, g);
    }
    g.jobs.push(job);
  }
  return [...byPlace.values()];
}

/** The read's rows of each group, by the group's position (`ord` counts from 1). */
function rowsByGroup(rows: readonly (SecretRow & { ord: unknown })[], groups: number): SecretRow[][] {
  const out: SecretRow[][] = Array.from({ length: groups }, () => []);
  for (const r of rows) {
    const ord = r.ord;
    if (typeof ord !== 'number' || !Number.isSafeInteger(ord) || ord < 1 || ord > groups) {
      throw new Error('the batch read returned a row of no secret of the batch');
    }
    out[ord - 1]?.push(r);
  }
  return out;
}

export function createSecretWriter(opts: SecretWriterOptions): SecretWriter {
  const { logger } = opts;

  /**
   * Runs one batch as one transaction and settles every job of it (never rejects). `alone`: a
   * retry of one job after its batch was refused; it is not retried again.
   */
  const runBatch = async (jobs: readonly Job[], alone: boolean): Promise<void> => {
    const groups = groupsOf(jobs);
    // Jobs whose answer waits for the outcome, with the answer they get if the batch commits.
    const waiting = new Map<Job, Outcome>();
    const unsettled = new Set(jobs);
    const settle = (job: Job, outcome: Outcome): void => {
      unsettled.delete(job);
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.err);
    };

    let codec: RowCodec;
    try {
      codec = opts.codec();
    } catch (err) {
      for (const job of jobs) settle(job, { ok: false, err });
      return;
    }

    /** Runs the mutators of one secret on its state; adds what changed to `rows`. */
    const applyGroup = (g: Group, read: SecretRow[], rows: BatchRows): void => {
      let before: SecretRecord | undefined;
      try {
        const { head, versions } = secretRows(read);
        before = head === undefined ? undefined : assembleSecret(codec, g.path, g.id, head, versions, true);
      } catch (err) {
        // Damaged rows fail this secret's callers only.
        for (const job of g.jobs) settle(job, { ok: false, err });
        return;
      }
      let state = before;
      let changed = false;
      const mine: [Job, Outcome][] = [];
      for (const job of g.jobs) {
        let outcome: Outcome;
        let next: SecretRecord | undefined;
        try {
          const mutation = job.mutate(state);
          if (typeof mutation !== 'object' || mutation === null) {
            throw new InvalidRecordError('mutator must return { next, result }');
          }
          if (mutation.next !== undefined) {
            next = copySecretRecord(mutation.next, g.path, new Set(state?.versions));
          }
          outcome = { ok: true, value: mutation.result };
        } catch (err) {
          outcome = { ok: false, err };
        }
        if (!changed && next === undefined) {
          // Answered from committed rows alone, changing nothing: final whatever the batch does.
          settle(job, outcome);
          continue;
        }
        mine.push([job, outcome]);
        if (next !== undefined) {
          state = next;
          changed = true;
        }
      }
      if (!changed || state === undefined) return;
      let plan;
      try {
        plan = planSecretWrite(codec, before, state, g.id);
      } catch (err) {
        for (const [job] of mine) settle(job, { ok: false, err });
        return;
      }
      for (const [job, outcome] of mine) waiting.set(job, outcome);
      if (plan.head === undefined) return;
      const id = asBuffer(plan.pathId);
      rows.headIds.push(id);
      rows.heads.push(asBuffer(plan.head));
      for (const v of plan.removed) {
        rows.goneIds.push(id);
        rows.goneVersions.push(v);
      }
      for (const [v, envelope] of plan.versions) {
        rows.versionIds.push(id);
        rows.versionNumbers.push(v);
        rows.versions.push(asBuffer(envelope));
      }
    };

    try {
      await opts.transaction(
        async (client, opened) => {
          const read = rowsByGroup(
            (opened[2]?.rows ?? []) as (SecretRow & { ord: unknown })[],
            groups.length,
          );
          const rows = new BatchRows();
          groups.forEach((g, i) => applyGroup(g, read[i] ?? [], rows));
          if (!rows.empty) {
            await client.query({ name: 'spike_writeSecrets', text: WRITE_SECRETS, values: rows.values() });
          }
        },
        openingMessage(groups.map((g) => g.id)),
      );
    } catch (err) {
      const left = jobs.filter((j) => unsettled.has(j));
      if (!alone && left.length > 1 && opts.refusedData(err)) {
        logger.warn('a write batch was refused by the database; its writes are retried one at a time', {
          size: left.length,
          reason: reasonOf(err),
        });
        for (const job of left) await runBatch([job], true);
        return;
      }
      if (left.length > 1) {
        logger.warn('a write batch failed; every write in it got its error', {
          size: left.length,
          reason: reasonOf(err),
        });
      }
      for (const job of left) settle(job, { ok: false, err });
      return;
    }
    let committed = 0;
    for (const job of jobs) {
      if (!unsettled.has(job)) continue;
      const outcome = waiting.get(job);
      if (outcome === undefined) {
        settle(job, { ok: false, err: new Error('internal error: a batched write was not answered') });
        continue;
      }
      if (outcome.ok) committed += 1;
      settle(job, outcome);
    }
    if (committed > 0) opts.batchCommitted?.(committed);
  };

  const queue = createBatchQueue<Job>({
    maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH,
    maxInFlight: opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    run: (jobs) => runBatch(jobs, false),
    onRunnerError: (err) => logger.error('write batch runner failed', { reason: reasonOf(err) }),
  });

  return {
    write<T>(
      path: string,
      id: Uint8Array,
      mutate: (current: SecretRecord | undefined) => SecretMutation<T>,
    ): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({
          place: Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex'),
          path,
          id,
          mutate,
          resolve,
          reject,
        });
      });
    },
  };
}

/** The message and SQLSTATE of an error, for a log line (never row contents). */
function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
