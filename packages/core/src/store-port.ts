/**
 * The storage port. Backends (memory, sqlite, postgres) implement it and all pass the
 * shared contract suite in `@spike-ts/store`.
 *
 * Durability: every returned promise of a mutating call resolves only once the change is
 * durable (committed and synced for persistent backends). Backends may batch concurrent
 * mutations into one transaction (group commit); a failed batch rejects every caller in it and
 * writes nothing.
 */
import type { PolicyRecord, SecretMetadata, SecretRecord, SecretVersion } from './model.ts';

/** One version of a secret together with the secret's metadata: what a read of one version needs. */
export interface SecretVersionRead {
  readonly path: string;
  readonly metadata: SecretMetadata;
  /** The asked-for version if the secret keeps it (live or soft-deleted), else undefined. */
  readonly version: SecretVersion | undefined;
}

/** Result of a mutator: the new record (or undefined to delete nothing / change nothing) and a value for the caller. */
export interface SecretMutation<T> {
  /** The record to store. `undefined` = leave storage unchanged. */
  readonly next: SecretRecord | undefined;
  readonly result: T;
}

export interface SecretStore {
  /** 'memory' | 'sqlite' | 'postgres' */
  readonly kind: string;
  /** True when the backend keeps data across restarts (needs a root key). */
  readonly persistent: boolean;

  /**
   * Install the root key. Derives the backend's purpose keys from it. On a fresh store records a
   * key-check value; on an existing store verifies the key against the stored key-check value and
   * throws `WrongRootKeyError` (nothing installed) on mismatch. The caller zeroes its copy.
   */
  unlock(rootKey: Uint8Array): Promise<void>;
  /** Whether a root key has been installed (always true for non-persistent backends). */
  isUnlocked(): boolean;
  /** Whether this store has ever been initialized with a root key (key-check value present). */
  isInitialized(): Promise<boolean>;

  getSecret(path: string): Promise<SecretRecord | undefined>;
  /**
   * The secret's metadata and one kept version (`0` = the current version; none when the current
   * version is 0), or undefined when the secret does not exist. Backends open only that version,
   * so a read costs the same however many versions are kept.
   */
  getSecretVersion(path: string, version: number): Promise<SecretVersionRead | undefined>;
  /**
   * Atomic read-modify-write of one secret. `mutate` is pure and runs against the latest state
   * (including earlier mutations in the same batch); if it throws, nothing is written and the
   * promise rejects with that error.
   */
  updateSecret<T>(path: string, mutate: (current: SecretRecord | undefined) => SecretMutation<T>): Promise<T>;
  /** All secret paths, sorted ascending. Throws `StoreIntegrityError` if any secret's row is damaged. */
  listSecretPaths(): Promise<string[]>;
  /**
   * The readable secret paths (sorted ascending) and the damaged secret rows, instead of failing
   * the whole listing for one damaged row. Opens only the `secrets` rows (not the versions).
   */
  scanSecretPaths(): Promise<SecretPathScan>;

  getPolicy(name: string): Promise<PolicyRecord | undefined>;
  /** Every policy, sorted. Throws `StoreIntegrityError` if any policy row is damaged. */
  listPolicies(): Promise<PolicyRecord[]>;
  /** The readable policies (sorted) and the damaged policy rows, which grant nothing. */
  scanPolicies(): Promise<PolicyScan>;
  /** Insert or replace by name. */
  putPolicy(policy: PolicyRecord): Promise<void>;
  /** Returns false when no such policy existed. */
  deletePolicy(name: string): Promise<boolean>;

  /**
   * Every damaged row of the store: policy rows and secret rows that fail to open or sit in a
   * place that is not theirs, version rows whose secret row is gone, and the version rows of
   * readable secrets that fail to open, do not match their secret's row, or are missing. Reads
   * the version rows a page of secrets at a time (memory stays bounded), so it costs about one
   * read of every version. Never throws for damage.
   */
  listDamagedRows(): Promise<DamagedRow[]>;
  /**
   * Deletes one damaged row (for `secrets`: the secret row and every version row of that place;
   * for `secret_versions`, with `version`: that version row, and the version is taken out of its
   * secret's row as if it had been pruned, the current and oldest versions recomputed from the
   * versions left). The row is checked again inside the deleting transaction: a row that opens
   * fine (and, for a version, matches its secret), or no row at all, is left alone and the
   * result is false; so is a version whose secret's row is missing or damaged itself (remove
   * the `secrets` row instead). Throws `InvalidRecordError` for a malformed id or version.
   */
  removeDamagedRow(table: DamagedTable, id: string, version?: number): Promise<boolean>;

  close(): Promise<void>;

  /**
   * Present on backends that several Nexus processes share (PostgreSQL): what a process needs to
   * keep its compiled policies coherent with the other processes' changes. Absent otherwise (the
   * one process that writes keeps its engine in step itself).
   */
  readonly sharedPolicies?: SharedPolicies;
  /**
   * Present on backends behind a network (PostgreSQL): resolves when the database answers a
   * trivial statement now, rejects otherwise. For readiness checks (`/readyz`).
   */
  ping?(): Promise<void>;
  /**
   * Present on persistent backends: root-key generations and online rotation (ADR 0044). Rows
   * carry the generation of the key that sealed them in their envelope header.
   */
  readonly rotation?: RootKeyRotation;
}

/** Where the store's root-key generations stand, as this process last read them. */
export interface RootKeyGenerationStatus {
  /** The generation every new row is sealed under. */
  readonly generation: number;
  /** Set while a rotation is unfinished: rows may still be sealed under `from`. */
  readonly rotating?: { readonly from: number; readonly to: number; readonly startedAt: number };
  /** When the last finished rotation ended (epoch ms), if any. */
  readonly lastRotatedAt?: number;
}

/**
 * Online root-key rotation of a persistent store (ADR 0044). `begin` persists the new generation
 * (the new key sealed under the old one and the reverse) before anything else learns of it; rows
 * are then re-sealed in bounded batches while the store serves; `finish` retires the old
 * generation once no row is sealed under it (and drops both wrapped copies, so the old key opens
 * nothing any more).
 */
export interface RootKeyRotation {
  /** In memory, no I/O. */
  status(): RootKeyGenerationStatus;
  /**
   * Records generation `current + 1` for `newRootKey` and seals new rows under it from now on.
   * Throws `RotationInProgressError` while a rotation is unfinished (in any process).
   */
  begin(newRootKey: Uint8Array, now: number): Promise<void>;
  /** Re-seals at most `limit` rows still sealed under an older generation; resolves with how many. */
  resealBatch(limit: number): Promise<number>;
  /** How many rows there are, and how many are still sealed under an older generation. */
  countRows(): Promise<{ readonly total: number; readonly old: number }>;
  /**
   * Retires the old generation when no row is sealed under it any more; false (nothing changed)
   * while some are (re-seal again).
   */
  finish(now: number): Promise<boolean>;
  /** Re-reads the generations (another process may have rotated); true when they changed. */
  refresh(): Promise<boolean>;
  /** Runs `fn` with the current generation's root key (do not keep it). */
  withRootKey<T>(fn: (rootKey: Uint8Array) => T): T;
  /** The cipher-API keys of older generations, newest first (copies; the caller zeroes them). */
  olderCipherKeys(): Uint8Array[];
}

/** A rotation was asked for while another one is unfinished. */
export class RotationInProgressError extends Error {
  override readonly name = 'RotationInProgressError';
  readonly from: number;
  readonly to: number;
  constructor(from: number, to: number) {
    super(
      `a root-key rotation (generation ${String(from)} to ${String(to)}) is already in progress; ` +
        'follow it with `spike operator rotate-root-key --status`',
    );
    this.from = from;
    this.to = to;
  }
}

/**
 * The policies' revision in a shared backend: an opaque token that changes in the same transaction
 * as every committed policy change (by any process) and never names two different sets of policies,
 * also across a failover or a restore of an older copy of the database (ADR 0049), so "my compiled
 * policies are at revision R and the database says R" means they are current. Compared for
 * equality only. Notifications are hints only: they can be late or lost, the revision read cannot.
 */
export interface SharedPolicies {
  /** The revision now (one small read; rejects like any store call when the backend is down). */
  revision(): Promise<string>;
  /** Every policy and the revision they are at, from one snapshot. */
  scan(): Promise<{ readonly revision: string; readonly scan: PolicyScan }>;
  /**
   * Calls `onHint` when a policy change may have been committed anywhere (a notification), and
   * after the notification channel was re-established (hints may have been missed meanwhile).
   * Returns a function that stops watching.
   */
  watch(onHint: () => void): () => void;
}

/** Tables whose rows `listDamagedRows` reports. */
export type DamagedTable = 'policies' | 'secrets' | 'secret_versions';

/**
 * What is wrong with a damaged row:
 * - `unreadable`: the row does not authenticate under the installed key (edited bytes, or a row
 *   sealed for another place: another secret, another version; the key itself was verified by
 *   the key-check value) or holds malformed content;
 * - `misplaced`: the row opens, but belongs to another name than the place it sits in;
 * - `versions-without-secret`: version rows whose `secrets` row is missing (deleted behind the
 *   store's back);
 * - `stale` (version rows): the row opens at its place, but its secret's row does not list that
 *   version, or lists other times for it (an older copy of the row put back, or a row left over);
 * - `missing` (version rows): the secret's row lists a version that has no row.
 */
export type DamageKind = 'unreadable' | 'misplaced' | 'versions-without-secret' | 'stale' | 'missing';

export interface DamagedRow {
  readonly table: DamagedTable;
  /**
   * The row's place: lower-case hex of its lookup id (`name_id` / `path_id`). Stable, reveals no
   * name, and what `removeDamagedRow` takes.
   */
  readonly id: string;
  /** For `secret_versions`: the version number of the row (with `id`, its place). */
  readonly version?: number;
  readonly kind: DamageKind;
  /**
   * The policy name or secret path this place belongs to, when the store can tell (for example
   * two swapped rows name each other's place); absent otherwise. Confidential metadata.
   */
  readonly name?: string;
}

export interface SecretPathScan {
  /** Readable paths, sorted ascending. */
  readonly paths: string[];
  readonly damaged: DamagedRow[];
}

export interface PolicyScan {
  readonly policies: PolicyRecord[];
  readonly damaged: DamagedRow[];
}

export class WrongRootKeyError extends Error {
  override readonly name: string = 'WrongRootKeyError';
  constructor(message = 'the root key does not match this store (key-check value mismatch)') {
    super(message);
  }
}

/**
 * The key is one of this store's earlier root keys, retired by a finished rotation: recovery
 * shares (files) of it no longer open anything.
 */
export class RetiredRootKeyError extends WrongRootKeyError {
  override readonly name = 'RetiredRootKeyError';
  readonly generation: number;
  readonly retiredAt: number | undefined;
  constructor(generation: number, retiredAt: number | undefined) {
    super(
      `this is the store's root key of generation ${String(generation)}, retired by a root-key rotation` +
        (retiredAt === undefined ? '' : ` on ${new Date(retiredAt).toISOString()}`),
    );
    this.generation = generation;
    this.retiredAt = retiredAt;
  }
}
