/**
 * The storage port. Backends (memory, sqlite, later postgres) implement it and all pass the
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
  /** 'memory' | 'sqlite' | ... */
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
  /** All secret paths, sorted ascending. */
  listSecretPaths(): Promise<string[]>;

  getPolicy(name: string): Promise<PolicyRecord | undefined>;
  listPolicies(): Promise<PolicyRecord[]>;
  /** Insert or replace by name. */
  putPolicy(policy: PolicyRecord): Promise<void>;
  /** Returns false when no such policy existed. */
  deletePolicy(name: string): Promise<boolean>;

  close(): Promise<void>;
}

export class WrongRootKeyError extends Error {
  override readonly name = 'WrongRootKeyError';
  constructor() {
    super('the root key does not match this store (key-check value mismatch)');
  }
}
