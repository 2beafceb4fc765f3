/**
 * In-memory `SecretStore` for development and tests. Nothing persists and nothing is encrypted;
 * `unlock` is accepted (and remembered through a key-check value, so a later unlock with a
 * different key is refused like on a persistent store) but not required: the store is unlocked
 * from the start. Records are validated, deep-copied and frozen on the way in, so callers cannot
 * change stored state through references they keep.
 */
import {
  computeKeyCheckValue,
  pickSecretVersion,
  silentLogger,
  verifyKeyCheckValue,
  WrongRootKeyError,
} from '@spike-ts/core';
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
import {
  checkName,
  checkVersionNumber,
  comparePolicies,
  copyPolicyRecord,
  copySecretRecord,
} from './record-copy.ts';
import { asPromise } from './as-promise.ts';
import { parseDamagedPlace } from './damaged-place.ts';
import { checkRootKey } from './root-key.ts';
import { InvalidRecordError, StoreClosedError } from './store-error.ts';

export interface MemoryStoreOptions {
  logger?: Logger;
}

export function createMemoryStore(opts: MemoryStoreOptions = {}): SecretStore {
  const logger = (opts.logger ?? silentLogger).child({ store: 'memory' });
  const secrets = new Map<string, SecretRecord>();
  const policies = new Map<string, PolicyRecord>();
  let keyCheck: Uint8Array | undefined;
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new StoreClosedError();
  };

  logger.info('in-memory store: data is not persisted and is lost when the process exits');

  return {
    kind: 'memory',
    persistent: false,

    unlock(rootKey: Uint8Array): Promise<void> {
      return asPromise(() => {
        ensureOpen();
        checkRootKey(rootKey);
        if (keyCheck === undefined) {
          keyCheck = computeKeyCheckValue(rootKey);
          return;
        }
        if (!verifyKeyCheckValue(rootKey, keyCheck)) throw new WrongRootKeyError();
      });
    },
    isUnlocked: () => !closed,
    isInitialized(): Promise<boolean> {
      return asPromise(() => {
        ensureOpen();
        return keyCheck !== undefined;
      });
    },

    getSecret(path: string): Promise<SecretRecord | undefined> {
      return asPromise(() => {
        ensureOpen();
        return secrets.get(checkName(path, 'path'));
      });
    },

    getSecretVersion(path: string, version: number): Promise<SecretVersionRead | undefined> {
      return asPromise(() => {
        ensureOpen();
        checkVersionNumber(version);
        const record = secrets.get(checkName(path, 'path'));
        return record === undefined ? undefined : pickSecretVersion(record, version);
      });
    },

    updateSecret<T>(
      path: string,
      mutate: (current: SecretRecord | undefined) => SecretMutation<T>,
    ): Promise<T> {
      return asPromise(() => {
        ensureOpen();
        checkName(path, 'path');
        // Stored records are frozen copies, so the mutator may see them directly.
        const mutation = mutate(secrets.get(path));
        if (typeof mutation !== 'object' || mutation === null) {
          throw new InvalidRecordError('mutator must return { next, result }');
        }
        const { next, result } = mutation;
        if (next !== undefined) secrets.set(path, copySecretRecord(next, path));
        return result;
      });
    },

    listSecretPaths(): Promise<string[]> {
      return asPromise(() => {
        ensureOpen();
        return [...secrets.keys()].sort();
      });
    },
    scanSecretPaths(): Promise<SecretPathScan> {
      return asPromise(() => {
        ensureOpen();
        return { paths: [...secrets.keys()].sort(), damaged: [] };
      });
    },

    getPolicy(name: string): Promise<PolicyRecord | undefined> {
      return asPromise(() => {
        ensureOpen();
        return policies.get(checkName(name, 'policy name'));
      });
    },
    listPolicies(): Promise<PolicyRecord[]> {
      return asPromise(() => {
        ensureOpen();
        return [...policies.values()].sort(comparePolicies);
      });
    },
    scanPolicies(): Promise<PolicyScan> {
      return asPromise(() => {
        ensureOpen();
        return { policies: [...policies.values()].sort(comparePolicies), damaged: [] };
      });
    },
    putPolicy(policy: PolicyRecord): Promise<void> {
      return asPromise(() => {
        ensureOpen();
        const copy = copyPolicyRecord(policy);
        policies.set(copy.name, copy);
      });
    },
    deletePolicy(name: string): Promise<boolean> {
      return asPromise(() => {
        ensureOpen();
        return policies.delete(checkName(name, 'policy name'));
      });
    },

    // Records live in process memory and are validated on the way in: no row can be damaged.
    listDamagedRows(): Promise<DamagedRow[]> {
      return asPromise(() => {
        ensureOpen();
        return [];
      });
    },
    removeDamagedRow(table: DamagedTable, id: string, version?: number): Promise<boolean> {
      return asPromise(() => {
        ensureOpen();
        parseDamagedPlace(table, id, version);
        return false;
      });
    },

    close(): Promise<void> {
      return asPromise(() => {
        closed = true;
        secrets.clear();
        policies.clear();
      });
    },
  };
}
