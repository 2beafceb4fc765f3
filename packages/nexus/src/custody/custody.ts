/**
 * Root-key custody for Nexus (the `Custody` port): recovery from keepers at start, keeper
 * re-seeding, and the operator's recover/restore.
 *
 * Recovery: every round asks ALL keepers in parallel for their share (keeper i = position i in
 * SPIKE_NEXUS_KEEPER_PEERS = share id i), keeps the latest share per keeper, and as soon as it
 * holds `threshold` shares looks for a combination whose key passes the store's key-check
 * (`findRootKey`). Rounds repeat with capped exponential backoff (500 ms doubling to 60 s) until
 * Nexus is ready. A wrong key is never installed; Nexus stays not ready instead. `start()` again
 * after Nexus dropped its root key (a rotation elsewhere retired it, or the database's key was
 * replaced) recovers the key the keepers hold by then.
 */
import {
  ShamirError,
  constantTimeEqual,
  splitRootKey,
  shardToJson,
  validateShare,
  zeroize,
  type Logger,
  type Share,
} from '@spike-ts/core';
import { BadRequestError, NotReadyError } from '@spike-ts/protocol';
import type { Custody, CustodyDeps, RestoreResult } from '../custody-port.ts';
import { findRootKey } from './find-root-key.ts';
import type { KeeperClient } from './keeper-client.ts';
import { createKeeperSync } from './keeper-sync.ts';

export const RECOVERY_INITIAL_DELAY_MS = 500;
export const RECOVERY_MAX_DELAY_MS = 60_000;

export interface CustodyOptions {
  /** How Nexus talks to keepers (production: `createKeeperClient` over mTLS). Closed by `stop()`. */
  readonly keeperClient: KeeperClient;
  readonly recoveryInitialDelayMs?: number;
  readonly recoveryMaxDelayMs?: number;
}

/** Serializes async sections (root-key installs must never overlap). */
function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const next = tail.then(fn, fn);
    tail = next.catch(() => undefined);
    return next;
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createCustodyWith(deps: CustodyDeps, options: CustodyOptions): Custody {
  const { state, config, logger } = deps;
  const log: Logger = logger.child({ component: 'custody' });
  const threshold = config.shamirThreshold;
  const peers = config.keeperPeers;
  const client = options.keeperClient;
  const sync = createKeeperSync({
    keeperPeers: peers,
    threshold,
    shares: config.shamirShares,
    updateIntervalMs: config.keeperUpdateIntervalMs,
    heartbeatIntervalMs: config.keeperHeartbeatIntervalMs,
    client,
    withRootKey: (fn) => state.withRootKey(fn),
    hasRootKey: () => state.hasRootKey(),
    beforeOverwrite: () => followKey?.() ?? Promise.resolve(),
    logger: log,
  });
  /** Reads the root-key generations and follows them (set by the rotation service). */
  let followKey: (() => Promise<void>) | undefined;
  const exclusive = createMutex();
  const abort = new AbortController();
  let recovery: Promise<void> | undefined;
  /** Latest share per keeper (share id = keeper position), with a generation per change. */
  const collected = new Map<number, { value: Uint8Array; gen: number }>();
  let generation = 0;
  let lastFailedSignature = '';
  /** Last outcome per keeper during recovery, so each change is logged once (not every round). */
  const pollStatus = new Map<number, string>();
  /** Operator-supplied shares, keyed by id. */
  const restoreShares = new Map<number, Uint8Array>();
  let restoredCount = 0;

  function clearCollected(): void {
    for (const { value } of collected.values()) zeroize(value);
    collected.clear();
  }

  function clearRestoreShares(): void {
    for (const value of restoreShares.values()) zeroize(value);
    restoreShares.clear();
  }

  function onRecovered(source: string): void {
    log.info('root key installed; Nexus is ready', { source });
    clearCollected();
    clearRestoreShares();
    sync.start();
  }

  /** Try to recover from the shares collected so far (serialized with every other install). */
  function attempt(): Promise<void> {
    return exclusive(async () => {
      if (state.isReady() || abort.signal.aborted || collected.size < threshold) return;
      const entries = [...collected.entries()].sort((a, b) => a[0] - b[0]);
      const signature = entries.map(([id, s]) => `${id}@${s.gen}`).join(',');
      if (signature === lastFailedSignature) return;
      const shares: Share[] = entries.map(([id, s]) => ({ id, value: s.value }));
      const result = await findRootKey(shares, threshold, (key) => state.installRootKey(key));
      if (!result.installed) {
        lastFailedSignature = signature;
        log.error(
          result.retired === undefined
            ? "no combination of the keepers' shares reconstructs this store's root key; staying not ready"
            : "the keepers' shares reconstruct a root key that a rotation retired; staying not ready " +
                '(restore from the recovery files written after the rotation)',
          {
            keepers: entries.map(([id]) => ({ keeper: id, url: peers[id - 1] })),
            rejectedCandidates: result.rejectedCandidates,
            inconsistentCombinations: result.inconsistentCombinations,
          },
        );
        return;
      }
      for (const id of result.suspectIds) {
        log.warn(
          'suspect keeper: its share does not belong to the root key (wrong or foreign share); it will be re-seeded',
          {
            keeper: id,
            url: peers[id - 1],
          },
        );
      }
      onRecovered('keepers');
    });
  }

  async function pollKeeper(url: string, id: number): Promise<void> {
    let got;
    try {
      got = await client.fetchShard(url);
    } catch (err) {
      const message = (err as Error).message;
      if (pollStatus.get(id) !== message)
        log.warn('keeper unreachable during recovery', { keeper: id, url, error: message });
      pollStatus.set(id, message);
      return;
    }
    if (got.kind === 'empty') {
      if (pollStatus.get(id) !== 'empty') log.info('keeper holds no share yet', { keeper: id, url });
      pollStatus.set(id, 'empty');
      return;
    }
    pollStatus.set(id, 'share');
    try {
      validateShare({ id, value: got.shard });
    } catch {
      zeroize(got.shard);
      log.warn('keeper returned an invalid share; ignoring it', { keeper: id, url });
      return;
    }
    const previous = collected.get(id);
    if (previous !== undefined) {
      if (constantTimeEqual(previous.value, got.shard)) {
        zeroize(got.shard);
        return;
      }
      zeroize(previous.value);
    }
    collected.set(id, { value: got.shard, gen: ++generation });
    await attempt();
  }

  async function recover(): Promise<void> {
    let delay = options.recoveryInitialDelayMs ?? RECOVERY_INITIAL_DELAY_MS;
    const maxDelay = options.recoveryMaxDelayMs ?? RECOVERY_MAX_DELAY_MS;
    log.info('recovering the root key from keepers', { keepers: peers.length, threshold });
    while (!abort.signal.aborted && !state.isReady()) {
      await Promise.all(peers.map((url, i) => pollKeeper(url, i + 1)));
      if (abort.signal.aborted || state.isReady()) break;
      await abortableSleep(delay, abort.signal);
      delay = Math.min(delay * 2, maxDelay);
    }
    clearCollected();
  }

  return {
    keeperStates: () => sync.keeperHealth(),
    followKeyWith(follow) {
      followKey = follow;
    },
    confirmShares: () => sync.confirm(),
    start() {
      if (recovery !== undefined || abort.signal.aborted) return;
      if (config.backend === 'memory') return;
      if (state.isReady()) {
        sync.start();
        return;
      }
      // Cleared once the loop ends (Nexus ready, or stopping): a later call, after Nexus dropped
      // its key, recovers the key the keepers hold then.
      recovery = recover()
        .catch((err: unknown) => log.error('recovery from keepers failed', { error: err }))
        .finally(() => {
          recovery = undefined;
        });
    },

    recoverShards() {
      if (!state.isReady()) throw new NotReadyError('recover: Nexus has no root key yet');
      const shares = state.withRootKey((rootKey) => splitRootKey(rootKey, threshold, config.shamirShares));
      const out: Record<string, number[]> = {};
      for (const share of shares) out[String(share.id)] = shardToJson(share.value);
      zeroize(...shares.map((s) => s.value));
      return out;
    },

    async restoreShard(id, shard) {
      if (!Number.isSafeInteger(id) || id < 1 || id > config.shamirMaxShareCount) {
        throw new BadRequestError(`id: must be an integer in 1..${config.shamirMaxShareCount}`);
      }
      try {
        validateShare({ id, value: shard }, config.shamirMaxShareCount);
      } catch (err) {
        if (err instanceof ShamirError) throw new BadRequestError(`shard: ${err.message}`);
        throw err;
      }
      return exclusive(async (): Promise<RestoreResult> => {
        if (state.isReady()) {
          return { collected: restoredCount, remaining: 0, restored: true };
        }
        // One share per index. A different share for an index already given replaces it, so an
        // operator can correct a wrong file without restarting Nexus.
        const previous = restoreShares.get(id);
        if (previous === undefined || !constantTimeEqual(previous, shard)) {
          if (previous !== undefined) {
            zeroize(previous);
            log.warn('restore: shard replaced by a different one with the same index', { id });
          }
          restoreShares.set(id, Uint8Array.from(shard));
        }
        const count = restoreShares.size;
        if (count < threshold) return { collected: count, remaining: threshold - count, restored: false };

        // Every combination of `threshold` of the shares kept so far is tried, so one wrong shard
        // among them does not block the restore: the right ones complete it as they arrive.
        const shares: Share[] = [...restoreShares.entries()].map(([sid, value]) => ({ id: sid, value }));
        const result = await findRootKey(shares, threshold, (key) => state.installRootKey(key));
        if (!result.installed) {
          if (result.retired !== undefined) {
            const when =
              result.retired.retiredAt === undefined
                ? ''
                : ` on ${new Date(result.retired.retiredAt).toISOString()}`;
            log.warn('restore: the shards given are of a root key that a rotation retired', {
              generation: result.retired.generation,
            });
            throw new BadRequestError(
              `shard ${id}: these recovery shards are of this store's root key of generation ` +
                `${String(result.retired.generation)}, which a root-key rotation retired${when}: recovery files ` +
                'written before that rotation no longer work. Use the files written after it ' +
                '(by `spike operator rotate-root-key` or `spike operator recover`). The shards were kept.',
            );
          }
          const why =
            result.inconsistentCombinations > 0
              ? 'the shards are not all shares of one root key'
              : 'they reconstruct a key that does not match this store (key-check failed)';
          log.warn('restore: no combination of the shards given reconstructs the root key', {
            ids: [...restoreShares.keys()].sort((a, b) => a - b),
            reason: why,
          });
          throw new BadRequestError(
            `shard ${id}: no ${threshold} of the ${count} shard(s) given so far reconstruct this store's ` +
              `root key (${why}). The shards were kept: give another recovery file, or give the ` +
              'right shard for an index whose file was wrong.',
          );
        }
        for (const suspect of result.suspectIds) {
          log.warn('restore: a shard given does not belong to the root key (wrong or foreign file)', {
            id: suspect,
          });
        }
        restoredCount = count;
        onRecovered('operator restore');
        return { collected: count, remaining: 0, restored: true };
      });
    },

    async stop() {
      abort.abort();
      await recovery;
      await exclusive(() => Promise.resolve());
      await sync.stop();
      clearCollected();
      clearRestoreShares();
      await client.close();
    },
  };
}
