/**
 * SQLite `SecretStore` (built-in `node:sqlite`, one file `<dataDir>/spike.db`).
 *
 * What is protected at rest
 * - Secret values, per-version created/deleted times, secret metadata (current/oldest version,
 *   created/updated times, max versions), secret paths, and whole policies (name, patterns,
 *   permissions, times) exist only inside AES-256-GCM envelopes sealed under the root key's
 *   `storage` purpose key, each with a fresh random nonce.
 * - Rows are found by `HMAC-SHA256(storage-index key, path or name)`, so lookups need no
 *   plaintext name. Without the root key, a name cannot even be confirmed by guessing.
 * - Associated data binds every envelope to its place (table, purpose, lookup id, version):
 *   edited, swapped or moved rows fail to open and reads throw `StoreIntegrityError`. The
 *   `secrets` row lists the versions kept, so a deleted or injected version row is detected too.
 *
 * What leaks to someone holding the file (and not the root key)
 * - The number of secrets and policies, and the number of versions kept per secret.
 * - Version numbers (row keys), hence roughly how often each secret was written.
 * - Ciphertext sizes: roughly the size of each version's data, of each path and of each policy.
 * - Which rows change together and when (file and WAL timing, page layout).
 * - The key-check value (designed to be public: it only confirms a candidate root key).
 * - Rollback is not detected: replacing the whole file, or a row with an older envelope of the
 *   same place, or removing every row of one secret (or one policy row), yields an older but
 *   consistent state. A `secrets` row removed without its version rows IS detected.
 *
 * Damaged rows (see `sqlite-damage.ts`) fail closed for that row only: the scans serve every
 * readable row and report the damaged ones; `removeDamagedRow` deletes one on explicit request.
 *
 * Durability: WAL + `synchronous=FULL`; mutations go through group commit, and a caller's
 * promise resolves only after the COMMIT that carries its change returned.
 */
import { computeKeyCheckValue, silentLogger, WrongRootKeyError } from '@spike-ts/core';
import type {
  DamagedRow,
  DamagedTable,
  Logger,
  PolicyRecord,
  PolicyScan,
  SecretPathScan,
  SecretMutation,
  SecretRecord,
  SecretStore,
  SecretVersionRead,
} from '@spike-ts/core';
import { createGroupCommit } from './group-commit.ts';
import { DEFAULT_ROW_CACHE_BYTES, RowCache, type PeerChangeTarget } from './row-cache.ts';
import { checkName, checkVersionNumber, copyPolicyRecord, copySecretRecord } from './record-copy.ts';
import { asPromise } from './as-promise.ts';
import { checkRootKey } from './root-key.ts';
import { createRowCodec, UnknownKeyGenerationError } from './row-codec.ts';
import type { RowCodec } from './row-codec.ts';
import { createSqliteRotation } from './sqlite-rotation.ts';
import { planSecretWrite } from './secret-write.ts';
import { openSqliteDatabase } from './sqlite-open.ts';
import { parseDamagedPlace } from './damaged-place.ts';
import {
  removeDamagedPlace,
  removeDamagedVersion,
  scanPolicyRows,
  scanSecretRows,
  versionScanPage,
} from './sqlite-damage.ts';
import { groupVersionRows, scanVersionGroup, VERSION_SCAN_PAGE } from './damage-scan.ts';
import {
  inReadTransaction,
  readOneVersion,
  readPolicy,
  readSecret,
  readSecretSnapshot,
} from './sqlite-read.ts';
import { blob, integer, prepareStatements } from './sqlite-statements.ts';
import type { JournalMode } from './sqlite-open.ts';
import {
  InvalidRecordError,
  StoreClosedError,
  StoreIntegrityError,
  StoreLockedError,
} from './store-error.ts';

export interface SqliteStoreOptions {
  /** Directory of `spike.db`; created with mode 0700 when missing. */
  dataDir: string;
  logger?: Logger;
  /** Default 'WAL'. */
  journalMode?: JournalMode;
  /** How long a write waits for another connection's lock. Default 5000 (SPIKE's default). */
  busyTimeoutMs?: number;
  /** Most mutations committed in one transaction. Default 256. */
  maxBatchSize?: number;
  /** Bytes of sealed rows the read cache may hold (0 = no cache). Default 64 MiB. */
  rowCacheBytes?: number;
  /**
   * SQLite page cache in KiB. Default 64 MiB; a read-only connection whose reads the row cache
   * absorbs (an API thread's) needs far less.
   */
  pageCacheKiB?: number;
  /**
   * Called after every successful COMMIT of this connection, before its callers are answered,
   * with the paths of the secrets it changed (empty for policy changes).
   */
  onCommit?: (secretPaths: readonly string[]) => void;
  /**
   * What other connections of this process commit (see `onCommit`), consulted before every read
   * from the cache: `peerChanges(cache)` is called once and returns a `sync` that drops the
   * entries of the secrets they changed (`cache.drop`), or everything (`cache.dropAll`).
   */
  peerChanges?: (cache: PeerChangeTarget) => () => void;
  /** Told the size of each committed write batch and whether each read hit the cache (metrics). */
  observer?: StoreObserver;
}

/** What a backend tells its observer (Nexus's metrics); every call is cheap and must not throw. */
export interface StoreObserver {
  /** A write transaction committed `size` mutations. */
  batchCommitted?(size: number): void;
  /** A read of one secret version was answered from the read cache (`hit`) or needed the database. */
  cacheRead?(hit: boolean): void;
}

const KEY_CHECK = 'key-check';

/** The error of a strict listing that met damaged rows (names stay out of the message). */
function damagedError(table: DamagedTable, damaged: readonly DamagedRow[]): StoreIntegrityError {
  return new StoreIntegrityError(
    `table ${table}: ${String(damaged.length)} damaged row(s) (${damaged.map((d) => d.kind).join(', ')})`,
  );
}

/** Per-batch overlay: records written earlier in the same transaction, by path. */
type Batch = Map<string, SecretRecord | undefined>;

export function createSqliteStore(opts: SqliteStoreOptions): SecretStore {
  const logger = (opts.logger ?? silentLogger).child({ store: 'sqlite' });
  const maxBatchSize = opts.maxBatchSize ?? 256;
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 10_000) {
    throw new RangeError('maxBatchSize must be an integer in 1..10000');
  }
  const { db } = openSqliteDatabase({
    dataDir: opts.dataDir,
    journalMode: opts.journalMode ?? 'WAL',
    busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
    logger,
    ...(opts.pageCacheKiB === undefined ? {} : { pageCacheKiB: opts.pageCacheKiB }),
  });
  const s = prepareStatements(db);
  const cache = new RowCache(
    opts.rowCacheBytes ?? DEFAULT_ROW_CACHE_BYTES,
    () => integer(s.dataVersion.get() ?? {}, 'data_version', 'PRAGMA data_version'),
    opts.observer?.cacheRead?.bind(opts.observer),
  );
  if (opts.peerChanges !== undefined) {
    cache.followPeers(opts.peerChanges({ drop: (path) => cache.delete(path), dropAll: () => cache.clear() }));
  }
  let codec: RowCodec | undefined;
  let closed = false;

  const commit = createGroupCommit<Batch>(
    {
      begin: () => db.exec('BEGIN IMMEDIATE'),
      commit: (batch) => {
        db.exec('COMMIT');
        opts.onCommit?.([...batch.keys()]);
      },
      rollback: () => {
        if (db.isTransaction) db.exec('ROLLBACK');
      },
      newBatch: () => new Map(),
      onBatchFailure: (err, size) =>
        logger.error('write batch failed; every write in it was rejected', { err, size }),
      ...(opts.observer?.batchCommitted === undefined
        ? {}
        : { onBatchCommitted: opts.observer.batchCommitted.bind(opts.observer) }),
    },
    maxBatchSize,
  );

  const usable = (): RowCodec => {
    if (closed) throw new StoreClosedError();
    if (codec === undefined) throw new StoreLockedError();
    return codec;
  };
  // Jobs already queued when close() starts still run (close flushes them).
  const queuedCodec = (): RowCodec => {
    if (codec === undefined) throw new StoreLockedError();
    return codec;
  };

  const readKeyCheck = (): Uint8Array | undefined => {
    const row = s.getMeta.get(KEY_CHECK);
    return row === undefined ? undefined : blob(row, 'value', 'table meta');
  };

  const replaceCodec = (next: RowCodec): void => {
    const before = codec;
    codec = next;
    cache.clear();
    if (before !== next) before?.destroy();
  };
  const keys = createSqliteRotation({
    db,
    logger,
    codec: usable,
    replaceCodec,
    inWrite: (job) => commit.submit(() => job),
    readKeyCheck,
  });
  /**
   * A read that met a row of a newer root-key generation (another thread of this process rotated):
   * the generations are read again and the read is tried once more.
   */
  const reading = <T>(read: () => T): Promise<T> =>
    asPromise(() => {
      try {
        return read();
      } catch (err) {
        if (!(err instanceof UnknownKeyGenerationError)) throw err;
        return keys.rotation.refresh().then(read);
      }
    });

  return {
    kind: 'sqlite',
    persistent: true,

    unlock(rootKey: Uint8Array): Promise<void> {
      return asPromise(() => {
        if (closed) throw new StoreClosedError();
        checkRootKey(rootKey);
        let kcv = readKeyCheck();
        if (kcv === undefined) {
          // Fresh store: record the key-check value durably. INSERT OR IGNORE + re-read settles a
          // race with another process initializing the same file.
          db.exec('BEGIN IMMEDIATE');
          try {
            const { changes } = s.insertMeta.run(KEY_CHECK, computeKeyCheckValue(rootKey));
            db.exec('COMMIT');
            if (Number(changes) > 0) logger.info('store initialized: key-check value recorded');
          } catch (err) {
            if (db.isTransaction) db.exec('ROLLBACK');
            throw err;
          }
          kcv = readKeyCheck();
        }
        if (kcv === undefined) throw new WrongRootKeyError();
        replaceCodec(createRowCodec(keys.resolve(rootKey, kcv)));
      });
    },
    isUnlocked: () => !closed && codec !== undefined,
    isInitialized(): Promise<boolean> {
      return asPromise(() => {
        if (closed) throw new StoreClosedError();
        return readKeyCheck() !== undefined;
      });
    },

    getSecret(path: string): Promise<SecretRecord | undefined> {
      return reading(() => {
        const c = usable();
        checkName(path, 'path');
        return readSecretSnapshot(db, s, c, path);
      });
    },

    getSecretVersion(path: string, version: number): Promise<SecretVersionRead | undefined> {
      return reading(() => {
        const c = usable();
        checkName(path, 'path');
        checkVersionNumber(version);
        return readOneVersion(db, s, c, cache, path, version);
      });
    },

    updateSecret<T>(
      path: string,
      mutate: (current: SecretRecord | undefined) => SecretMutation<T>,
    ): Promise<T> {
      return asPromise(() => {
        usable();
        checkName(path, 'path');
        return commit.submit<T>((batch) => {
          const c = queuedCodec();
          // A write does not count as a use of the read cache's entry.
          const id = cache.idOf(path) ?? c.pathId(path);
          const current = batch.has(path) ? batch.get(path) : readSecret(s, c, path, id, true);
          const mutation = mutate(current);
          if (typeof mutation !== 'object' || mutation === null) {
            throw new InvalidRecordError('mutator must return { next, result }');
          }
          const { result } = mutation;
          if (mutation.next === undefined) return () => result;
          const next = copySecretRecord(mutation.next, path, new Set(current?.versions));
          const plan = planSecretWrite(c, current, next, id);
          return () => {
            if (plan.head !== undefined) s.upsertHead.run(plan.pathId, plan.head);
            for (const [version, envelope] of plan.versions)
              s.upsertVersion.run(plan.pathId, version, envelope);
            for (const version of plan.removed) s.deleteVersion.run(plan.pathId, version);
            cache.delete(path);
            batch.set(path, next);
            return result;
          };
        });
      });
    },

    listSecretPaths(): Promise<string[]> {
      return asPromise(() => {
        const c = usable();
        const scan = inReadTransaction(db, () => scanSecretRows(s, c));
        if (scan.damaged.length > 0) throw damagedError('secrets', scan.damaged);
        return scan.paths;
      });
    },
    scanSecretPaths(): Promise<SecretPathScan> {
      return asPromise(() => {
        const c = usable();
        return inReadTransaction(db, () => scanSecretRows(s, c));
      });
    },

    getPolicy(name: string): Promise<PolicyRecord | undefined> {
      return reading(() => {
        const c = usable();
        checkName(name, 'policy name');
        return readPolicy(s, c, name);
      });
    },
    listPolicies(): Promise<PolicyRecord[]> {
      return asPromise(() => {
        const c = usable();
        const scan = inReadTransaction(db, () => scanPolicyRows(s, c));
        if (scan.damaged.length > 0) throw damagedError('policies', scan.damaged);
        return scan.policies;
      });
    },
    scanPolicies(): Promise<PolicyScan> {
      return asPromise(() => {
        const c = usable();
        return inReadTransaction(db, () => scanPolicyRows(s, c));
      });
    },
    putPolicy(policy: PolicyRecord): Promise<void> {
      return asPromise(() => {
        usable();
        const copy = copyPolicyRecord(policy);
        return commit.submit<void>(() => {
          const c = queuedCodec();
          const id = c.nameId(copy.name);
          const envelope = c.sealPolicy(id, copy);
          return () => {
            s.upsertPolicy.run(id, envelope);
          };
        });
      });
    },
    deletePolicy(name: string): Promise<boolean> {
      return asPromise(() => {
        usable();
        checkName(name, 'policy name');
        return commit.submit<boolean>(() => {
          const id = queuedCodec().nameId(name);
          return () => Number(s.deletePolicy.run(id).changes) > 0;
        });
      });
    },

    async listDamagedRows(): Promise<DamagedRow[]> {
      const c = usable();
      const damaged = inReadTransaction(db, () => [
        ...scanPolicyRows(s, c).damaged,
        ...scanSecretRows(s, c).damaged,
      ]);
      // The version rows of readable secrets, a page of secrets per read transaction, letting
      // other work run between pages: only one page of rows is in memory at a time.
      let after: Uint8Array = new Uint8Array(0);
      for (;;) {
        const codecNow = usable();
        const groups = groupVersionRows(versionScanPage(s, after, VERSION_SCAN_PAGE));
        for (const group of groups) damaged.push(...scanVersionGroup(codecNow, group));
        const last = groups[groups.length - 1];
        if (last === undefined || groups.length < VERSION_SCAN_PAGE) break;
        after = last.id;
        await new Promise((resolve) => setImmediate(resolve));
      }
      return damaged;
    },
    removeDamagedRow(table: DamagedTable, id: string, version?: number): Promise<boolean> {
      return asPromise(() => {
        usable();
        const place = parseDamagedPlace(table, id, version);
        if (place.version !== undefined) {
          const wanted = place.version;
          const removal = commit.submit<string | undefined>((batch) => {
            const c = queuedCodec();
            return () => {
              const done = removeDamagedVersion(s, c, place.id, wanted, Date.now());
              if (done === undefined) return undefined;
              // Later writes of this secret in the batch read its rows again, not a record from
              // before the removal.
              batch.delete(done.path);
              cache.delete(done.path);
              return done.path;
            };
          });
          return removal.then((path) => {
            if (path === undefined) return false;
            // The API threads drop the secret from their read caches before the caller hears back.
            opts.onCommit?.([path]);
            logger.warn('damaged row removed', { table: place.table, id, version: wanted });
            return true;
          });
        }
        const removal = commit.submit<boolean>(() => {
          const c = queuedCodec();
          return () => {
            const removed = removeDamagedPlace(s, c, place.table, place.id);
            if (removed) cache.clear();
            return removed;
          };
        });
        return removal.then((removed) => {
          if (removed) logger.warn('damaged row removed', { table: place.table, id });
          return removed;
        });
      });
    },

    rotation: keys.rotation,

    close(): Promise<void> {
      return asPromise(() => {
        if (closed) return;
        closed = true;
        try {
          commit.flushAll();
        } finally {
          db.close();
          cache.clear();
          codec?.destroy();
          codec = undefined;
        }
      });
    },
  };
}
