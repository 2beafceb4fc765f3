/**
 * A read cache of the SQLite backend's rows, as stored: sealed. Reading one version of a secret
 * then costs one AES-GCM open and no SQLite statement, instead of a keyed hash, a join over every
 * kept version and an open of each.
 *
 * What is kept per path: its lookup id, its opened `secrets` row (metadata: times,
 * current/oldest/max versions and the numbers of the kept versions; no secret value), and the
 * version rows read so far, still sealed. Secret values are opened per read and never kept in the
 * clear; the cache holds nothing the database file does not hold, plus the metadata that every
 * read of the secret opens anyway.
 *
 * Staleness: this connection's own writes drop the entries they touch (see the store), inside
 * the transaction that makes them, so no read after a write's acknowledgement can see the old
 * rows. A commit by any other connection to the file (another process, an operator's `sqlite3`)
 * changes SQLite's `PRAGMA data_version`; the cache checks it on the first read of every turn of
 * the event loop and starts from an empty cache when it moved. Reads served in one turn share that
 * check: they see every commit another connection made before the turn's first read.
 *
 * Size: bounded by the bytes of the sealed rows it holds; the entry used least recently leaves
 * first.
 */
import type { SecretHead } from './row-codec.ts';

export interface CachedSecret {
  readonly id: Uint8Array;
  readonly head: SecretHead;
  /** Sealed version rows read so far, by version number. */
  readonly versions: Map<number, Uint8Array>;
  /** Bytes charged to the budget for this entry. */
  bytes: number;
}

/** Default budget: 64 MiB of sealed rows (about 50,000 versions of 1 KiB secrets). */
export const DEFAULT_ROW_CACHE_BYTES = 64 * 1024 * 1024;

/** What another connection's changes may drop from a read cache. */
export interface PeerChangeTarget {
  /** Forget the secret at `path` (its rows changed). */
  drop(path: string): void;
  /** Forget everything (what changed is not known). */
  dropAll(): void;
}
/** What an entry costs besides its sealed rows (lookup id, opened head, map): an estimate. */
const ENTRY_OVERHEAD = 512;

export class RowCache {
  readonly #entries = new Map<string, CachedSecret>();
  readonly #budget: number;
  readonly #dataVersion: () => number;
  #bytes = 0;
  #seen: number | undefined;
  #checked = false;
  #peerSync: (() => void) | undefined;
  /** Told whether each single-version read was a hit (see `noteRead`). */
  readonly #onRead: ((hit: boolean) => void) | undefined;
  readonly #endTurn = (): void => {
    this.#checked = false;
  };

  /**
   * `dataVersion` reads `PRAGMA data_version` on the connection the cache serves; `onRead`, if
   * given, hears of every read's outcome (`noteRead`).
   */
  constructor(budgetBytes: number, dataVersion: () => number, onRead?: (hit: boolean) => void) {
    if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0) {
      throw new RangeError('row cache budget must be a non-negative integer (bytes)');
    }
    this.#budget = budgetBytes;
    this.#dataVersion = dataVersion;
    this.#onRead = onRead;
  }

  /** A read was answered from the cache alone (`hit`) or needed a statement. */
  noteRead(hit: boolean): void {
    this.#onRead?.(hit);
  }

  /**
   * `sync` runs before every read from this cache and drops what other connections of this
   * process changed (see `PeerChangeTarget`), so a read on one thread sees a write acknowledged
   * on another at once, not only on the next turn of the event loop.
   */
  followPeers(sync: () => void): void {
    this.#peerSync = sync;
  }

  /** Empties the cache when another connection committed since the last check (once per turn). */
  sync(): void {
    this.#peerSync?.();
    if (this.#checked) return;
    this.#checked = true;
    setImmediate(this.#endTurn).unref();
    const now = this.#dataVersion();
    if (this.#seen !== now) {
      this.clear();
      this.#seen = now;
    }
  }

  /** The entry of `path`, marked as the most recently used. */
  get(path: string): CachedSecret | undefined {
    const entry = this.#entries.get(path);
    if (entry !== undefined) {
      this.#entries.delete(path);
      this.#entries.set(path, entry);
    }
    return entry;
  }

  /** The lookup id of `path` if it is cached, without marking the entry as used. */
  idOf(path: string): Uint8Array | undefined {
    return this.#entries.get(path)?.id;
  }

  /** Remembers an opened head (no version rows yet). */
  add(path: string, id: Uint8Array, head: SecretHead): CachedSecret {
    const entry: CachedSecret = { id, head, versions: new Map(), bytes: ENTRY_OVERHEAD + path.length * 2 };
    this.delete(path);
    if (this.#budget === 0) return entry;
    this.#entries.set(path, entry);
    this.#charge(entry.bytes);
    return entry;
  }

  /** Remembers a sealed version row of `path`'s entry (if that entry is still cached). */
  addVersion(path: string, entry: CachedSecret, version: number, sealed: Uint8Array): void {
    if (this.#entries.get(path) !== entry || entry.versions.has(version)) return;
    entry.versions.set(version, sealed);
    entry.bytes += sealed.byteLength;
    this.#charge(sealed.byteLength);
  }

  delete(path: string): void {
    const entry = this.#entries.get(path);
    if (entry === undefined) return;
    this.#entries.delete(path);
    this.#bytes -= entry.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #charge(bytes: number): void {
    this.#bytes += bytes;
    for (const [path, entry] of this.#entries) {
      if (this.#bytes <= this.#budget) break;
      this.#entries.delete(path);
      this.#bytes -= entry.bytes;
    }
  }
}
