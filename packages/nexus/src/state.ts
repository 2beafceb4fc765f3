/**
 * Root-key state. Until a root key is installed a persistent store is locked and every route
 * but operator recover/restore answers 503. Installing the key unlocks the store (a wrong key
 * throws `WrongRootKeyError` and changes nothing), compiles every stored policy once into the
 * in-memory policy engine, derives the cipher-API purpose key and flips the state to ready.
 *
 * The memory backend has no root key: it is ready at start with a random cipher key.
 *
 * Damaged rows (see `SecretStore.scanPolicies`) never stop the key from being installed: the
 * root key was verified by the store's key-check value, so a row that does not open is damage
 * to that row. A damaged policy row is not loaded (it grants nothing); every damaged row is
 * logged (with the name when the store can tell it) and counted for the health listener.
 */
import {
  constantTimeEqual,
  createPolicyEngine,
  derivePurposeKey,
  randomBytes,
  zeroize,
  type Logger,
  type DamagedRow,
  type DamagedTable,
  type PolicyChange,
  type PolicyEngine,
  type SecretStore,
} from '@spike-ts/core';
import { NotReadyError, ROOT_KEY_SIZE } from '@spike-ts/protocol';
import { createPolicySync } from './policy-sync.ts';

export class RootKeyConflictError extends Error {
  override readonly name = 'RootKeyConflictError';
  constructor() {
    super('a different root key is already installed');
  }
}

/** Thrown by `withRootKey`/`withCipherKey` without a key: the spine's 503 `state_not_ready`. */
export { NotReadyError };

export interface NexusState {
  /** True once the store is unlocked and the policies are loaded. */
  isReady(): boolean;
  /** True when there is a root key (persistent backends only). */
  hasRootKey(): boolean;
  /**
   * Install the root key (the caller keeps and zeroes its own copy). Installing the same key
   * again is a no-op; a different key throws `RootKeyConflictError`.
   */
  installRootKey(rootKey: Uint8Array): Promise<void>;
  /** Run `fn` with the root key (do not keep it). Throws `NotReadyError` without one. */
  withRootKey<T>(fn: (rootKey: Uint8Array) => T): T;
  /** Run `fn` with the cipher-API purpose key (do not keep it). Throws `NotReadyError` when not ready. */
  withCipherKey<T>(fn: (cipherKey: Uint8Array) => T): T;
  /**
   * Run `fn` with every cipher-API key, the current one first, then those of older root-key
   * generations (ADR 0044: ciphertexts made before a rotation still decrypt).
   */
  withCipherKeys<T>(fn: (cipherKeys: readonly Uint8Array[]) => T): T;
  /**
   * After the store's root-key generation changed (a rotation began or finished, here or in
   * another process): take the current generation's root key and cipher keys from the store.
   */
  followRotation(): void;
  /**
   * Install the root key another thread now holds (after a rotation), replacing this one; the
   * store accepts only a key of its current or unfinished generation.
   */
  adoptRootKey(rootKey: Uint8Array): Promise<void>;
  /**
   * Forget the root key and stop being ready: it was retired by a rotation this process could
   * not follow (a restart recovers the new key from the keepers).
   */
  dropRootKey(): void;
  /** Called once when the state becomes ready (immediately if it already is). Returns an unsubscribe. */
  onReady(listener: () => void): () => void;
  /** Damaged rows found by the last check (at key installation, or by the operator routes). */
  damagedRows(): DamageCount;
  /**
   * Record what a check found: `rows` from `SecretStore.listDamagedRows` (every table), or only
   * the rows of `table` (then the other tables' counts are kept).
   */
  recordDamage(rows: readonly DamagedRow[], table?: DamagedTable): void;
  /**
   * The compiled policies: kept in step by the policy routes, and on a shared store (PostgreSQL)
   * by `policiesFresh` instead.
   */
  readonly policies: PolicyEngine;
  /**
   * Set on a shared store: resolves once `policies` is as current as the store (other Nexus
   * processes change it too; ADR 0032). Await it before authorizing with `policies`.
   */
  readonly policiesFresh: (() => Promise<void>) | undefined;
  /** Zero the keys. */
  close(): void;
}

export interface DamageCount {
  readonly policies: number;
  readonly secrets: number;
  /** Known from the last full listing only (`listDamagedRows`): version rows are not scanned at start. */
  readonly secret_versions: number;
}

/** Most damaged rows logged one by one; the rest are counted in one line. */
export const MAX_DAMAGED_ROWS_LOGGED = 20;

/** What the log says about damaged rows (names are confidential metadata: log, never health). */
export function logDamagedRows(logger: Logger, rows: readonly DamagedRow[]): void {
  for (const row of rows.slice(0, MAX_DAMAGED_ROWS_LOGGED)) {
    const what = row.table === 'policies' ? 'policy' : 'secret';
    logger.error(
      `damaged ${what} row: it is not served (the ${what} ${row.table === 'policies' ? 'grants nothing' : 'cannot be read'}); ` +
        "list and remove damaged rows with 'spike operator damaged list' and 'spike operator damaged remove'",
      { table: row.table, id: row.id, kind: row.kind, ...(row.name === undefined ? {} : { name: row.name }) },
    );
  }
  if (rows.length > MAX_DAMAGED_ROWS_LOGGED) {
    logger.error('more damaged rows were found', { more: rows.length - MAX_DAMAGED_ROWS_LOGGED });
  }
}

export interface NexusStateOptions {
  readonly store: SecretStore;
  readonly logger: Logger;
  /** Called after every change of the compiled policies (API threads follow it). */
  readonly onPoliciesChanged?: (change: PolicyChange) => void;
  /**
   * false: installing the root key does not load the policies from the store; they arrive from
   * elsewhere (an API thread gets the main thread's). Default true.
   */
  readonly loadPoliciesFromStore?: boolean;
}

export async function createNexusState(options: NexusStateOptions): Promise<NexusState> {
  const { store, logger } = options;
  const policies = createPolicyEngine(
    options.onPoliciesChanged === undefined ? {} : { onChange: options.onPoliciesChanged },
  );
  const listeners = new Set<() => void>();
  let rootKey: Uint8Array | undefined;
  let cipherKey: Uint8Array | undefined;
  /** Cipher keys of older root-key generations, newest first. */
  let olderCipherKeys: Uint8Array[] = [];
  let ready = false;
  let installing: Promise<void> = Promise.resolve();
  let damage: DamageCount = { policies: 0, secrets: 0, secret_versions: 0 };

  const recordDamage = (rows: readonly DamagedRow[], table?: DamagedTable): void => {
    const countOf = (t: DamagedTable): number =>
      table === undefined || table === t ? rows.filter((r) => r.table === t).length : damage[t];
    damage = {
      policies: countOf('policies'),
      secrets: countOf('secrets'),
      secret_versions: countOf('secret_versions'),
    };
  };

  const sync =
    store.sharedPolicies === undefined || options.loadPoliciesFromStore === false
      ? undefined
      : createPolicySync({
          shared: store.sharedPolicies,
          engine: policies,
          logger,
          onScan: (scan) => recordDamage(scan.damaged, 'policies'),
        });

  const loadPolicies = async (): Promise<void> => {
    let scan;
    if (sync === undefined) {
      scan = await store.scanPolicies();
      const result = policies.load(scan.policies);
      for (const r of result.rejected) logger.warn('stored policy ignored: it does not compile', r);
      for (const r of result.restricted) logger.warn('stored policy ignored on reserved system paths', r);
    } else {
      scan = await sync.load();
    }
    logger.info('policies loaded', { count: policies.size, damaged: scan.damaged.length });
    const secrets = (await store.scanSecretPaths()).damaged;
    // Version rows are not scanned here (that opens every version): their count stays as the
    // last full listing found it.
    recordDamage(scan.damaged, 'policies');
    recordDamage(secrets, 'secrets');
    const damaged = [...scan.damaged, ...secrets];
    logDamagedRows(logger, damaged);
  };

  /**
   * The keys to hold once the store accepted `candidate`: during or after a rotation the store's
   * current generation may be another key than the one given (an old key yields the new one while
   * a rotation is unfinished), and older generations' cipher keys come along.
   */
  const takeKeys = (candidate: Uint8Array): void => {
    const current = store.rotation?.withRootKey((k) => Uint8Array.from(k));
    const next = current ?? candidate;
    if (current !== undefined) zeroize(candidate);
    const older = store.rotation?.olderCipherKeys() ?? [];
    zeroize(cipherKey, ...olderCipherKeys);
    if (rootKey !== undefined && rootKey !== next) zeroize(rootKey);
    cipherKey = derivePurposeKey(next, 'cipher');
    olderCipherKeys = older;
    rootKey = next;
  };

  const becomeReady = (): void => {
    ready = true;
    for (const listener of [...listeners]) {
      listeners.delete(listener);
      try {
        listener();
      } catch (err) {
        logger.error('ready listener failed', { err });
      }
    }
  };

  const install = async (candidate: Uint8Array): Promise<void> => {
    if (rootKey !== undefined) {
      const same = constantTimeEqual(rootKey, candidate);
      zeroize(candidate);
      if (!same) throw new RootKeyConflictError();
      return;
    }
    try {
      await store.unlock(candidate);
      if (options.loadPoliciesFromStore !== false) await loadPolicies();
      takeKeys(candidate);
    } catch (err) {
      zeroize(candidate);
      throw err;
    }
    logger.info('root key installed; SPIKE Nexus is ready');
    becomeReady();
  };

  if (!store.persistent) {
    await loadPolicies();
    cipherKey = randomBytes(32);
    ready = true;
  }

  const installRootKey = (key: Uint8Array): Promise<void> => {
    if (!store.persistent) return Promise.reject(new Error('the memory backend takes no root key'));
    if (!(key instanceof Uint8Array) || key.byteLength !== ROOT_KEY_SIZE) {
      return Promise.reject(new RangeError(`the root key must be ${String(ROOT_KEY_SIZE)} bytes`));
    }
    const copy = new Uint8Array(key);
    const run = installing.then(() => install(copy));
    installing = run.catch(() => undefined);
    return run;
  };

  return {
    isReady: () => ready,
    hasRootKey: () => rootKey !== undefined,
    installRootKey,
    withRootKey(fn) {
      if (rootKey === undefined) throw new NotReadyError();
      return fn(rootKey);
    },
    withCipherKey(fn) {
      if (!ready || cipherKey === undefined) throw new NotReadyError();
      return fn(cipherKey);
    },
    withCipherKeys(fn) {
      if (!ready || cipherKey === undefined) throw new NotReadyError();
      return fn([cipherKey, ...olderCipherKeys]);
    },
    followRotation() {
      if (rootKey === undefined || store.rotation === undefined) return;
      const same = store.rotation.withRootKey((k) => constantTimeEqual(k, rootKey as Uint8Array));
      if (same && store.rotation.olderCipherKeys().length === olderCipherKeys.length) return;
      takeKeys(new Uint8Array(32));
    },
    adoptRootKey(key) {
      if (rootKey === undefined) return installRootKey(key);
      const copy = new Uint8Array(key);
      const run = installing.then(async () => {
        try {
          await store.unlock(copy);
        } catch (err) {
          zeroize(copy);
          throw err;
        }
        takeKeys(copy);
      });
      installing = run.catch(() => undefined);
      return run;
    },
    dropRootKey() {
      zeroize(rootKey, cipherKey, ...olderCipherKeys);
      rootKey = undefined;
      cipherKey = undefined;
      olderCipherKeys = [];
      ready = false;
    },
    damagedRows: () => damage,
    recordDamage,
    onReady(listener) {
      if (ready) {
        listener();
        return () => undefined;
      }
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    policies,
    policiesFresh: sync === undefined ? undefined : () => sync.fresh(),
    close() {
      sync?.close();
      zeroize(rootKey, cipherKey, ...olderCipherKeys);
      olderCipherKeys = [];
      rootKey = undefined;
      cipherKey = undefined;
      ready = false;
    },
  };
}
