/**
 * PostgreSQL `SecretStore` (driver: `pg`, node-postgres), for one or many Nexus processes on one
 * database. Rows are encoded exactly as in the SQLite backend (`row-codec.ts`): every row is an
 * AES-256-GCM envelope bound to its place, found by a keyed lookup id, under a root key checked
 * against the stored key-check value; see `sqlite-store.ts` for what is protected and what leaks
 * (the same holds here, with "file" read as "database", plus whatever the server's own logs and
 * statistics keep). The tables live in the schema `spike` (`postgres-schema.ts`).
 *
 * Concurrency: an update of one secret runs in a transaction (shared with concurrent updates,
 * see group commit below) that first takes a transaction-scoped advisory lock on the secret's
 * lookup id, then reads the rows, runs the mutator and writes. Every writer of that secret, in this process or another, takes the same lock, so the
 * version numbers come from the rows as committed, never from process memory: concurrent writes
 * from several processes never lose a version or reuse a number. Reads need no lock: each read
 * is one statement, hence one snapshot.
 *
 * Group commit: concurrent updates of this process are batched into one transaction (three
 * round trips and one WAL flush for the whole batch: BEGIN with every lock and the read as one
 * message, one write statement, COMMIT); see `postgres-write-batch.ts`. The statements run per
 * request are named, so each connection plans them once.
 *
 * Durability: a caller's promise resolves after the COMMIT of its batch returned, with
 * `synchronous_commit = on` forced for the session.
 *
 * Reads of one secret version go through a cache of sealed rows that the database validates in
 * the statement each read makes (`postgres-read-cache.ts`, ADR 0046): a write committed by any
 * process is seen by every read asked for after it. Policies are cached by Nexus (compiled): every
 * policy change bumps `spike.revisions` ('policies') in its own transaction and notifies channel
 * `spike_changes`; `sharedPolicies` gives Nexus the revision read (a token of the counter, the
 * row's `xmin` and the server's start, unique across failovers and restores: ADR 0049), a snapshot of every policy with
 * its revision, and the notifications (a dedicated LISTEN connection that reconnects by itself).
 *
 * Failures: a lost or refused connection, a server shutting down or starting, and timeouts
 * surface as `StoreUnavailableError` (503: nothing was changed, retry here or elsewhere); the pool
 * replaces broken connections by itself. The one exception is a COMMIT that was sent and got no
 * answer: `StoreOutcomeUnknownError` (500 `api_outcome_unknown`), since the change may be in.
 */
import pg from 'pg';
import type { PoolClient } from 'pg';
import { computeKeyCheckValue, silentLogger, WrongRootKeyError } from '@spike-ts/core';
import type {
  DamagedRow,
  DamagedTable,
  Logger,
  PolicyRecord,
  PolicyScan,
  SecretMutation,
  SecretPathScan,
  SecretRecord,
  SecretStore,
  SecretVersionRead,
} from '@spike-ts/core';
import { parseDamagedPlace } from './damaged-place.ts';
import { removeDamagedVersionPg, scanDamagedVersions } from './postgres-damage.ts';
import { scanPolicies, scanSecrets, tryOpen, type PlacedRow } from './damage-scan.ts';
import {
  describeConnection,
  poolConfig,
  type PostgresConnection,
  type PostgresPoolOptions,
} from './postgres-connection.ts';
import {
  checkPostgresSchema,
  latestPgSchemaVersion,
  migratePostgres,
  PG_MIGRATIONS,
  PG_SCHEMA,
  readPgSchemaVersion,
  runtimeGrants,
  type MigrationResult,
} from './postgres-schema.ts';
import {
  checkReadCacheBytes,
  createPgVersionReader,
  POLICY_TOKEN_SQL,
  type ReadBatchRow,
} from './postgres-read-cache.ts';
import { bytes, secretRows, type SecretRow } from './postgres-rows.ts';
import {
  createSecretWriter,
  DEFAULT_MAX_IN_FLIGHT,
  SECRET_LOCK,
  secretLockKey,
} from './postgres-write-batch.ts';
import { checkName, checkVersionNumber, copyPolicyRecord } from './record-copy.ts';
import { checkRootKey } from './root-key.ts';
import { createRowCodec, UnknownKeyGenerationError, type RowCodec } from './row-codec.ts';
import { createPgRotation } from './postgres-rotation.ts';
import { KeysReplacedError } from './key-generations.ts';
import { assembleSecret, openPolicyAt, type VersionRow } from './secret-rows.ts';
import type { StoreObserver } from './sqlite-store.ts';
import {
  StoreClosedError,
  StoreIntegrityError,
  StoreLockedError,
  StoreOutcomeUnknownError,
  StoreUnavailableError,
} from './store-error.ts';

export interface PostgresStoreOptions {
  readonly connection: PostgresConnection;
  readonly pool?: PostgresPoolOptions;
  /**
   * `migrate` (default): apply missing migrations at open (needs a role that may run DDL).
   * `check`: run no DDL; refuse to open unless the schema is at the version this build needs.
   */
  readonly schema?: 'migrate' | 'check';
  /** How long opening keeps trying to reach a database that refuses connections. Default 30 s. */
  readonly initializationTimeoutMs?: number;
  readonly logger?: Logger;
  /** Told the size of each committed write batch and whether each read hit the cache (metrics). */
  readonly observer?: StoreObserver;
  /** Group commit limits (`postgres-write-batch.ts`); the defaults suit most deployments. */
  readonly writeBatch?: { readonly maxBatch?: number; readonly maxInFlight?: number };
  /** Bytes of sealed rows the read cache keeps at most (default 64 MiB; 0 keeps nothing). */
  readonly readCacheBytes?: number;
}

const S = PG_SCHEMA;
const KEY_CHECK = 'key-check';
/** The channel of the change notifications (`NOTIFY`): hints for the other processes' caches. */
export const CHANGES_CHANNEL = 'spike_changes';
/** How long the LISTEN connection waits before reconnecting: first, then doubled up to the last. */
const LISTEN_RETRY_MS = [250, 5_000] as const;

/** How often a call runs again when the keys it held were replaced under it (a rotation). */
const KEYS_REPLACED_RETRIES = 3;

const SQL = {
  getMeta: `SELECT value FROM ${S}.meta WHERE key = $1`,
  insertMeta: `INSERT INTO ${S}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
  lockSecret: 'SELECT pg_advisory_xact_lock($1, $2)',
  // The head and the wanted version rows of one place in one statement (one snapshot). Version
  // rows are returned even without a head, so orphans are seen; `$2 = 0` returns every version.
  // (Writes read their rows with the batch: `postgres-write-batch.ts`.)
  readSecret: `SELECT s.envelope AS head, v.version::text AS version, v.envelope AS envelope
    FROM (SELECT $1::bytea AS id) k
    LEFT JOIN ${S}.secrets s ON s.path_id = k.id
    LEFT JOIN ${S}.secret_versions v ON v.path_id = k.id
      AND ($2::bigint = 0 OR v.version = $2::bigint OR s.path_id IS NULL)
    ORDER BY v.version`,
  // Secret heads and the places of version rows without a head, in one snapshot.
  scanSecrets: `SELECT 'h' AS kind, path_id AS id, envelope FROM ${S}.secrets
    UNION ALL
    SELECT DISTINCT 'o', v.path_id, NULL::bytea FROM ${S}.secret_versions v
    WHERE NOT EXISTS (SELECT 1 FROM ${S}.secrets s WHERE s.path_id = v.path_id)`,
  scanPolicies: `SELECT 'p' AS kind, name_id AS id, envelope FROM ${S}.policies`,
  getPolicy: `SELECT envelope FROM ${S}.policies WHERE name_id = $1`,
  lockPolicy: `SELECT envelope FROM ${S}.policies WHERE name_id = $1 FOR UPDATE`,
  upsertPolicy: `INSERT INTO ${S}.policies (name_id, envelope) VALUES ($1, $2)
    ON CONFLICT (name_id) DO UPDATE SET envelope = EXCLUDED.envelope, revision = ${S}.policies.revision + 1`,
  deletePolicy: `DELETE FROM ${S}.policies WHERE name_id = $1`,
  // Bumped in the transaction of every policy change; the notification is sent at COMMIT.
  bumpPolicies: `WITH r AS (
      UPDATE ${S}.revisions SET revision = revision + 1 WHERE name = 'policies' RETURNING revision
    ) SELECT revision::text AS revision, pg_notify('${CHANGES_CHANNEL}', 'policies ' || revision::text) FROM r`,
  ping: 'SELECT 1',
  // Every policy row and the policies' token, in one statement (one snapshot).
  scanPoliciesAt: `SELECT 'p' AS kind, name_id AS id, envelope, NULL::text AS revision FROM ${S}.policies
    UNION ALL
    SELECT 'r', NULL::bytea, NULL::bytea, ${POLICY_TOKEN_SQL} FROM ${S}.revisions r WHERE r.name = 'policies'`,
  lockHead: `SELECT envelope FROM ${S}.secrets WHERE path_id = $1 FOR UPDATE`,
  deleteHead: `DELETE FROM ${S}.secrets WHERE path_id = $1`,
  deleteVersions: `DELETE FROM ${S}.secret_versions WHERE path_id = $1`,
} as const;

/** Statement names, so that each connection parses and plans a statement once (prepared). */
const STATEMENT_NAMES = new Map<string, string>(
  Object.entries(SQL).map(([key, text]) => [text, `spike_${key}`]),
);

/** A query of one of the statements above, as a named (prepared) statement. */
function named(text: string, values: unknown[]): pg.QueryConfig {
  const name = STATEMENT_NAMES.get(text);
  return name === undefined ? { text, values } : { name, text, values };
}

interface ScanRow {
  kind: 'h' | 'o' | 'p';
  id: unknown;
  envelope: unknown;
}

/** SQLSTATE classes and codes that mean "the database is not usable right now". */
const UNAVAILABLE_CLASSES = ['08', '53', '57'];
const UNAVAILABLE_CODES = new Set(['55P03', '40001', '40P01']);
/** Node socket errors of a connection that failed or broke. */
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Whether `err` says the database could not be reached or went away (rather than refused us). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) {
    const code = err.code ?? '';
    return UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) || UNAVAILABLE_CODES.has(code);
  }
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && SOCKET_ERRORS.has(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error/i.test(
    err.message,
  );
}

/** Short, credential-free text of a driver error. */
function reasonOf(err: unknown): string {
  if (err instanceof pg.DatabaseError) return `${err.message} (SQLSTATE ${err.code ?? '?'})`;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** The driver refused to send the statement: the connection was already known to be broken. */
function neverSent(err: unknown): boolean {
  return err instanceof Error && /not queryable|Client was closed/i.test(err.message);
}

/**
 * Whether a failed COMMIT certainly did not commit: the server answered with an error that rolls
 * the transaction back (serialization failure, deadlock, a deferred constraint). Anything else
 * (a lost connection, a timeout, the server shutting down) leaves the outcome unknown.
 */
function commitRolledBack(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return false;
  const cls = (err.code ?? '').slice(0, 2);
  return cls === '40' || cls === '23';
}

/** SQLSTATE classes of a statement refused for its data: data exception, constraint, limits. */
const DATA_REFUSED_CLASSES = ['22', '23', '54'];

/**
 * Whether the server refused a statement (or a deferred check at COMMIT) for the data it was
 * given, and rolled back: not a lost connection, a timeout or a configuration problem.
 */
function refusedData(err: unknown): boolean {
  return err instanceof pg.DatabaseError && DATA_REFUSED_CLASSES.includes((err.code ?? '').slice(0, 2));
}

/** A write the database refused because its row was sealed under an old root-key generation. */
function isOldGenerationWrite(err: unknown): boolean {
  return (
    err instanceof pg.DatabaseError &&
    err.code === '40001' &&
    err.message.startsWith('spike: row sealed under')
  );
}

/** Our own errors pass; a database that went away becomes `StoreUnavailableError`. */
function storeError(err: unknown): unknown {
  if (err instanceof StoreOutcomeUnknownError) return err;
  return isUnavailable(err) ? new StoreUnavailableError(reasonOf(err), { cause: err }) : err;
}

/** Connection failures at start that may go away by waiting (the server is starting or restarting). */
function worthRetrying(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return err.code === '57P03';
  return isUnavailable(err);
}

/**
 * Opens the pool, waits (up to the initialization timeout) for the database to accept
 * connections, then migrates or checks the schema. Rejects with `StoreUnavailableError` when the
 * database stays unreachable, `StoreSchemaError` for a schema it cannot use, or the driver's error
 * (authentication, TLS, a missing database) at once.
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<SecretStore> {
  if (opts.readCacheBytes !== undefined) checkReadCacheBytes(opts.readCacheBytes);
  const logger = (opts.logger ?? silentLogger).child({ store: 'postgres' });
  const pool = new pg.Pool(poolConfig(opts.connection, opts.pool));
  // A connection that breaks while idle in the pool is dropped by the pool; it only needs noting.
  pool.on('error', (err) => logger.warn('an idle database connection failed', { reason: reasonOf(err) }));
  try {
    const client = await connectAtStart(pool, opts);
    try {
      if (opts.schema === 'check') {
        await checkPostgresSchema(client);
      } else if ((await readPgSchemaVersion(client)) !== latestPgSchemaVersion()) {
        // DDL only when something is missing: a current schema needs no rights beyond the runtime grants.
        const result = await migratePostgres(client);
        if (result.applied.length > 0) {
          logger.info('database schema migrated', { from: result.from, to: result.to });
        }
      }
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return createPostgresStore(
    pool,
    logger,
    () => new pg.Client(poolConfig(opts.connection, opts.pool, 'spike-nexus-listen')),
    opts,
  );
}

/**
 * A checked-out client has no `error` listener of the pool's: a connection lost between two
 * statements would be an uncaught exception. It surfaces through the next statement instead.
 */
function ignoreClientError(): void {
  // the next query on this client fails with the connection's error
}

async function connectAtStart(
  pool: pg.Pool,
  opts: Pick<PostgresStoreOptions, 'connection' | 'initializationTimeoutMs'>,
): Promise<PoolClient> {
  const timeoutMs = opts.initializationTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const client = await pool.connect();
      client.on('error', ignoreClientError);
      return client;
    } catch (err) {
      const left = deadline - Date.now();
      if (!worthRetrying(err)) throw err;
      if (left <= 0) {
        throw new StoreUnavailableError(
          `cannot connect to PostgreSQL (${describeConnection(opts.connection)}) within ${String(timeoutMs)} ms: ${reasonOf(err)}`,
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(250, left)));
    }
  }
}

export interface PostgresMigrateOptions {
  readonly connection: PostgresConnection;
  readonly pool?: PostgresPoolOptions;
  readonly initializationTimeoutMs?: number;
  /** Also give this role exactly the runtime grants (`runtimeGrants`), in the same transaction. */
  readonly grantRuntimeRole?: string;
}

/**
 * What `spike-nexus migrate` does: waits for the database like a starting Nexus, applies the
 * missing migrations as the connecting (DDL) role and optionally grants the runtime role.
 */
export async function runPostgresMigrations(opts: PostgresMigrateOptions): Promise<MigrationResult> {
  const grants = opts.grantRuntimeRole === undefined ? [] : runtimeGrants(opts.grantRuntimeRole);
  const pool = new pg.Pool({ ...poolConfig(opts.connection, opts.pool, 'spike-nexus-migrate'), max: 1 });
  pool.on('error', () => undefined);
  try {
    const client = await connectAtStart(pool, opts);
    try {
      return await migratePostgres(client, PG_MIGRATIONS, grants);
    } finally {
      client.release();
    }
  } catch (err) {
    throw storeError(err);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

function createPostgresStore(
  pool: pg.Pool,
  logger: Logger,
  listenClient: () => pg.Client,
  opts: Pick<PostgresStoreOptions, 'observer' | 'writeBatch' | 'pool' | 'readCacheBytes'>,
): SecretStore {
  let codec: RowCodec | undefined;
  let closed = false;
  const inFlight = new Set<Promise<unknown>>();
  const reads = createPgVersionReader({
    query: async (config) => (await pool.query<ReadBatchRow>(config)).rows,
    ...(opts.readCacheBytes === undefined ? {} : { budgetBytes: opts.readCacheBytes }),
    ...(opts.observer?.cacheRead === undefined
      ? {}
      : { onRead: opts.observer.cacheRead.bind(opts.observer) }),
  });

  const usable = (): RowCodec => {
    if (closed) throw new StoreClosedError();
    if (codec === undefined) throw new StoreLockedError();
    return codec;
  };

  /**
   * Runs one store call: checks it may start, maps driver errors, and tracks it for `close`. A
   * call that met a root-key generation this process does not know yet (a rotation begun by
   * another process) reads the generations again and runs once more (ADR 0044).
   */
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = (async () => {
      try {
        for (let replaced = 0; ; replaced++) {
          try {
            return await fn();
          } catch (err) {
            // Keys replaced under a call that held them (nothing was written with them): again. A
            // rotation may replace an API thread's keys twice in a row (its own look at the
            // generations, then the key the main thread hands over), so a few times.
            if (err instanceof KeysReplacedError && codec !== undefined && replaced < KEYS_REPLACED_RETRIES)
              continue;
            if (
              !(err instanceof UnknownKeyGenerationError || isOldGenerationWrite(err)) ||
              codec === undefined
            )
              throw err;
            // Another call may have read them already: run again either way (once).
            await keys.rotation.refresh();
            return await fn();
          }
        }
      } catch (err) {
        throw storeError(err);
      }
    })();
    inFlight.add(p);
    const done = (): void => {
      inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  };

  // Policy writes of one place from this process run in call order (another process's writes
  // are ordered by the database locks alone); secret writes are ordered by the batch queue.
  const tails = new Map<string, Promise<unknown>>();
  const inOrder = <T>(place: string, fn: () => Promise<T>): Promise<T> => {
    const before = tails.get(place) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    tails.set(place, tail);
    void tail.then(() => {
      if (tails.get(place) === tail) tails.delete(place);
    });
    return mine;
  };
  const placeKey = (table: string, id: Uint8Array): string => `${table}:${Buffer.from(id).toString('hex')}`;

  const query = async <R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[],
    client?: PoolClient,
  ): Promise<R[]> => (await (client ?? pool).query<R>(named(sql, params))).rows;

  /**
   * Runs `fn` in one transaction. `opening` is the first message sent: `BEGIN`, optionally
   * followed by more statements (simple query protocol, no parameters) whose results `fn` gets, so
   * that the transaction's first statements cost one round trip.
   */
  const transaction = async <T>(
    fn: (client: PoolClient, opened: pg.QueryResult[]) => Promise<T>,
    opening = 'BEGIN',
  ): Promise<T> => {
    const client = await pool.connect();
    // Set when the connection failed; checked right before COMMIT: a session the server ended
    // while the transaction was idle committed nothing, and COMMIT is then not sent at all.
    let lostIdle: Error | undefined;
    const onIdleError = (err: Error): void => {
      lostIdle ??= err;
    };
    client.on('error', onIdleError);
    let broken: Error | undefined;
    try {
      const first = (await client.query(opening)) as pg.QueryResult | pg.QueryResult[];
      const result = await fn(client, Array.isArray(first) ? first : [first]);
      if (lostIdle !== undefined) throw lostIdle;
      try {
        await client.query('COMMIT');
      } catch (err) {
        broken = err instanceof Error ? err : new Error('commit failed');
        if (commitRolledBack(err) || neverSent(err)) throw err;
        // The COMMIT was sent: it may have been applied. Not retryable elsewhere (not a 503).
        throw new StoreOutcomeUnknownError(reasonOf(err), { cause: err });
      }
      return result;
    } catch (err) {
      if (err instanceof StoreOutcomeUnknownError) throw err;
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection is unusable: the pool must not hand it out again.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error('rollback failed');
      }
      throw err;
    } finally {
      client.off('error', onIdleError);
      client.release(broken ?? lostIdle);
    }
  };

  const writer = createSecretWriter({
    transaction,
    // Batches already queued when close() starts still run (close waits for them).
    codec: () => {
      if (codec === undefined) throw new StoreLockedError();
      return codec;
    },
    // The server refused the batch's data and rolled back: each write alone shows which one.
    refusedData,
    logger,
    ...(opts.observer?.batchCommitted === undefined
      ? {}
      : { batchCommitted: opts.observer.batchCommitted.bind(opts.observer) }),
    // No more batches at once than the pool has connections (each holds one until its COMMIT).
    maxInFlight: Math.min(DEFAULT_MAX_IN_FLIGHT, opts.pool?.maxConnections ?? DEFAULT_MAX_IN_FLIGHT),
    ...opts.writeBatch,
  });

  const readKeyCheck = async (): Promise<Uint8Array | undefined> => {
    const row = (await query<{ value: unknown }>(SQL.getMeta, [KEY_CHECK]))[0];
    return row === undefined ? undefined : bytes(row.value, 'value', 'table meta');
  };

  const keys = createPgRotation({
    pool,
    logger,
    codec: usable,
    replaceCodec: (next) => {
      const before = codec;
      codec = next;
      if (before !== next) before?.destroy();
      // Rows re-sealed under the new generation have new row versions anyway; start afresh.
      reads.clear();
    },
    forget: () => {
      const before = codec;
      codec = undefined;
      before?.destroy();
      reads.clear();
    },
    readKeyCheck,
    run,
  });

  /** The rows of one secret place: the head (if any) and the version rows asked for. */
  const readRows = async (
    id: Uint8Array,
    version: number,
  ): Promise<{ head: Uint8Array | undefined; versions: VersionRow[] }> =>
    secretRows(await query<SecretRow>(SQL.readSecret, [id, version]));

  const readSecret = async (c: RowCodec, path: string, id: Uint8Array): Promise<SecretRecord | undefined> => {
    const { head, versions } = await readRows(id, 0);
    return head === undefined ? undefined : assembleSecret(c, path, id, head, versions);
  };

  /** Rows of a scan statement, by kind: policies, secret heads, places of orphan version rows. */
  const scanRows = async (
    sql: string,
  ): Promise<{ policies: PlacedRow[]; heads: PlacedRow[]; orphans: Uint8Array[] }> => {
    const out = { policies: [] as PlacedRow[], heads: [] as PlacedRow[], orphans: [] as Uint8Array[] };
    for (const r of await query<ScanRow>(sql, [])) {
      const where =
        r.kind === 'p' ? 'table policies' : r.kind === 'h' ? 'table secrets' : 'table secret_versions';
      const id = bytes(r.id, 'id', where);
      if (r.kind === 'o') out.orphans.push(id);
      else
        (r.kind === 'p' ? out.policies : out.heads).push({
          id,
          envelope: bytes(r.envelope, 'envelope', where),
        });
    }
    return out;
  };
  const scanSecretRows = async (c: RowCodec): Promise<SecretPathScan> => {
    const { heads, orphans } = await scanRows(SQL.scanSecrets);
    return scanSecrets(heads, orphans, c);
  };
  const scanPolicyRows = async (c: RowCodec): Promise<PolicyScan> =>
    scanPolicies((await scanRows(SQL.scanPolicies)).policies, c);

  const damagedError = (table: DamagedTable, damaged: readonly DamagedRow[]): StoreIntegrityError =>
    new StoreIntegrityError(
      `table ${table}: ${String(damaged.length)} damaged row(s) (${damaged.map((d) => d.kind).join(', ')})`,
    );

  const watchers = new Set<() => void>();

  return {
    kind: 'postgres',
    persistent: true,

    unlock(rootKey: Uint8Array): Promise<void> {
      return run(async () => {
        if (closed) throw new StoreClosedError();
        checkRootKey(rootKey);
        let kcv = await readKeyCheck();
        if (kcv === undefined) {
          // Fresh database: record the key-check value. ON CONFLICT + re-read settles a race with
          // another Nexus initializing the same database.
          const inserted = await pool.query(SQL.insertMeta, [KEY_CHECK, computeKeyCheckValue(rootKey)]);
          if ((inserted.rowCount ?? 0) > 0) logger.info('store initialized: key-check value recorded');
          kcv = await readKeyCheck();
        }
        if (kcv === undefined) throw new WrongRootKeyError();
        const next = createRowCodec(await keys.resolve(rootKey, kcv));
        codec?.destroy();
        codec = next;
        reads.clear();
      });
    },
    isUnlocked: () => !closed && codec !== undefined,
    isInitialized(): Promise<boolean> {
      return run(async () => {
        if (closed) throw new StoreClosedError();
        return (await readKeyCheck()) !== undefined;
      });
    },

    getSecret(path: string): Promise<SecretRecord | undefined> {
      return run(() => {
        const c = usable();
        checkName(path, 'path');
        return readSecret(c, path, c.pathId(path));
      });
    },

    getSecretVersion(path: string, version: number): Promise<SecretVersionRead | undefined> {
      return run(() => {
        const c = usable();
        checkName(path, 'path');
        checkVersionNumber(version);
        // Cached sealed rows, validated by the database in a statement issued after this call.
        return reads.read(c, path, version);
      });
    },

    updateSecret<T>(
      path: string,
      mutate: (current: SecretRecord | undefined) => SecretMutation<T>,
    ): Promise<T> {
      return run(async () => {
        const c = usable();
        checkName(path, 'path');
        const id = c.pathId(path);
        // Batched with concurrent updates (group commit); one secret's updates keep call order.
        return writer.write(path, id, mutate);
      });
    },

    listSecretPaths(): Promise<string[]> {
      return run(async () => {
        const scan = await scanSecretRows(usable());
        if (scan.damaged.length > 0) throw damagedError('secrets', scan.damaged);
        return scan.paths;
      });
    },
    scanSecretPaths(): Promise<SecretPathScan> {
      return run(() => scanSecretRows(usable()));
    },

    getPolicy(name: string): Promise<PolicyRecord | undefined> {
      return run(async () => {
        const c = usable();
        checkName(name, 'policy name');
        const id = c.nameId(name);
        const row = (await query<{ envelope: unknown }>(SQL.getPolicy, [id]))[0];
        if (row === undefined) return undefined;
        return openPolicyAt(c, id, name, bytes(row.envelope, 'envelope', 'table policies'));
      });
    },
    listPolicies(): Promise<PolicyRecord[]> {
      return run(async () => {
        const scan = await scanPolicyRows(usable());
        if (scan.damaged.length > 0) throw damagedError('policies', scan.damaged);
        return scan.policies;
      });
    },
    scanPolicies(): Promise<PolicyScan> {
      return run(() => scanPolicyRows(usable()));
    },
    putPolicy(policy: PolicyRecord): Promise<void> {
      return run(async () => {
        const c = usable();
        const copy = copyPolicyRecord(policy);
        const id = c.nameId(copy.name);
        const envelope = c.sealPolicy(id, copy);
        await inOrder(placeKey('policies', id), () =>
          transaction(async (client) => {
            await client.query(SQL.upsertPolicy, [id, envelope]);
            await client.query(SQL.bumpPolicies);
          }),
        );
      });
    },
    deletePolicy(name: string): Promise<boolean> {
      return run(async () => {
        const c = usable();
        checkName(name, 'policy name');
        const id = c.nameId(name);
        return inOrder(placeKey('policies', id), () =>
          transaction(async (client) => {
            const r = await client.query(SQL.deletePolicy, [id]);
            if ((r.rowCount ?? 0) === 0) return false;
            await client.query(SQL.bumpPolicies);
            return true;
          }),
        );
      });
    },

    listDamagedRows(): Promise<DamagedRow[]> {
      return run(async () => {
        const c = usable();
        // One statement, one snapshot of both tables.
        const { policies, heads, orphans } = await scanRows(
          `${SQL.scanPolicies} UNION ALL ${SQL.scanSecrets}`,
        );
        return [
          ...scanPolicies(policies, c).damaged,
          ...scanSecrets(heads, orphans, c).damaged,
          ...(await scanDamagedVersions((sql, params) => query(sql, params), usable)),
        ];
      });
    },
    removeDamagedRow(table: DamagedTable, id: string, version?: number): Promise<boolean> {
      return run(async () => {
        const c = usable();
        const place = parseDamagedPlace(table, id, version);
        const wanted = place.version;
        if (wanted !== undefined) {
          const path = await inOrder(placeKey('secrets', place.id), () =>
            transaction(async (client) => {
              await client.query(SQL.lockSecret, [SECRET_LOCK, secretLockKey(place.id)]);
              return removeDamagedVersionPg(client, c, place.id, wanted, Date.now());
            }),
          );
          if (path !== undefined)
            logger.warn('damaged row removed', { table: place.table, id, version: wanted });
          return path !== undefined;
        }
        const removed = await transaction(async (client) => {
          if (place.table === 'policies') {
            const row = (await query<{ envelope: unknown }>(SQL.lockPolicy, [place.id], client))[0];
            if (row === undefined) return false;
            const envelope = bytes(row.envelope, 'envelope', 'table policies');
            if (tryOpen(() => c.openPolicy(place.id, envelope)) !== undefined) return false;
            await client.query(SQL.deletePolicy, [place.id]);
            await client.query(SQL.bumpPolicies);
            return true;
          }
          await client.query(SQL.lockSecret, [SECRET_LOCK, secretLockKey(place.id)]);
          const head = (await query<{ envelope: unknown }>(SQL.lockHead, [place.id], client))[0];
          if (head !== undefined) {
            const envelope = bytes(head.envelope, 'envelope', 'table secrets');
            if (tryOpen(() => c.openHead(place.id, envelope)) !== undefined) return false;
            await client.query(SQL.deleteHead, [place.id]);
            await client.query(SQL.deleteVersions, [place.id]);
            return true;
          }
          const r = await client.query(SQL.deleteVersions, [place.id]);
          return (r.rowCount ?? 0) > 0;
        });
        if (removed) logger.warn('damaged row removed', { table: place.table, id });
        return removed;
      });
    },

    rotation: keys.rotation,
    ping: () =>
      run(async () => {
        if (closed) throw new StoreClosedError();
        await query(SQL.ping, []);
      }),
    sharedPolicies: {
      // Read by the statement of the next batch of secret reads (one statement for both).
      revision: () =>
        run(async () => {
          usable();
          return revisionText(await reads.policyRevision());
        }),
      scan: () =>
        run(async () => {
          const c = usable();
          const rows = await query<ScanRow & { revision: string | null }>(SQL.scanPoliciesAt, []);
          const policies: PlacedRow[] = [];
          let revision: string | undefined;
          for (const r of rows) {
            if (r.kind === 'p') {
              policies.push({
                id: bytes(r.id, 'name_id', 'table policies'),
                envelope: bytes(r.envelope, 'envelope', 'table policies'),
              });
            } else revision = revisionText(r.revision);
          }
          return { revision: revisionText(revision), scan: scanPolicies(policies, c) };
        }),
      watch: (onHint) => {
        const stop = watchChanges(listenClient, logger, onHint);
        watchers.add(stop);
        return () => {
          watchers.delete(stop);
          stop();
        };
      },
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const stop of [...watchers]) stop();
      watchers.clear();
      // Calls already started finish (their writes commit) before the pool ends.
      await Promise.allSettled([...inFlight]);
      await pool.end();
      reads.clear();
      codec?.destroy();
      codec = undefined;
    },
  };
}

/** A policies' token (`POLICY_TOKEN_SQL`): counter, `xmin` and server start, as decimal text. */
function revisionText(value: unknown): string {
  if (typeof value !== 'string' || !/^\d{1,19}\/\d{1,10}\/\d{1,19}$/.test(value)) {
    throw new StoreIntegrityError(
      "table revisions: the 'policies' row is missing or not a number (run `spike-nexus migrate`)",
    );
  }
  return value;
}

/**
 * Keeps one connection LISTENing on the change channel: `onHint` for every notification, and once
 * after each (re)connection (notifications sent while it was away are lost). Reconnects by itself
 * with a growing delay. Returns the function that stops it.
 */
function watchChanges(newClient: () => pg.Client, logger: Logger, onHint: () => void): () => void {
  let stopped = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay: number = LISTEN_RETRY_MS[0];
  let failures = 0;

  const hint = (): void => {
    try {
      onHint();
    } catch (err) {
      logger.error('change notification handler failed', { err });
    }
  };
  const retry = (): void => {
    if (stopped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect();
    }, delay);
    delay = Math.min(LISTEN_RETRY_MS[1], delay * 2);
  };
  const connect = (): void => {
    if (stopped) return;
    const c = newClient();
    client = c;
    let lost = false;
    const onLost = (err?: unknown): void => {
      if (lost) return;
      lost = true;
      if (client === c) client = undefined;
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      if (stopped) return;
      failures += 1;
      // Every failure is worth a line only the first time; the cache checks revisions anyway.
      if (failures === 1) {
        logger.warn(
          'the change notification connection was lost; reconnecting (revisions are still checked)',
          {
            reason: err instanceof Error ? err.message : 'connection ended',
          },
        );
      }
      hint();
      retry();
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (msg) => {
      if (msg.channel === CHANGES_CHANNEL) hint();
    });
    c.connect()
      .then(() => c.query(`LISTEN ${CHANGES_CHANNEL}`))
      .then(
        () => {
          if (stopped || lost) return;
          if (failures > 0) logger.info('the change notification connection is back');
          failures = 0;
          delay = LISTEN_RETRY_MS[0];
          // Changes made while no connection listened were not notified.
          hint();
        },
        (err: unknown) => onLost(err),
      );
  };
  connect();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const c = client;
    client = undefined;
    if (c !== undefined) {
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
    }
  };
}
