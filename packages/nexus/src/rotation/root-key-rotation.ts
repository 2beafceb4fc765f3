/**
 * Online root-key rotation in Nexus (ADR 0044): begins a rotation on request, then drives it to
 * its end in the background while Nexus serves: the keepers get shares of the new key, every row
 * is re-sealed in bounded batches, and once at least the threshold of keepers hold new shares the
 * store retires the old generation. The same loop resumes an unfinished rotation after a restart
 * (it starts when the root key is installed), and on a shared database any replica that learns of
 * an unfinished rotation takes part (re-sealing is safe from several processes at once).
 *
 * Every replica also follows rotations made elsewhere: it reads the store's generations every
 * keeper heartbeat interval (and the store does when it meets a row of a newer generation), takes the new key and tells its API
 * threads. A replica that finds its own key already retired (it missed a whole rotation), or its
 * generation held by another key (the database was restored or failed over, then rotated again),
 * forgets it and becomes not ready; a restart recovers the database's key from the keepers.
 */
import {
  generateRootKey,
  RetiredRootKeyError,
  RotationInProgressError,
  WrongRootKeyError,
  zeroize,
  type Logger,
  type SecretStore,
} from '@spike-ts/core';
import { BadRequestError, NotReadyError, type RootKeyStatus, type RotationPhase } from '@spike-ts/protocol';
import type { Custody } from '../custody-port.ts';
import type { NexusState } from '../state.ts';

export interface RootKeyRotationOptions {
  readonly store: SecretStore;
  readonly state: NexusState;
  readonly custody: Custody | undefined;
  readonly threshold: number;
  readonly batchSize: number;
  /** How often to look for rotations made by other processes, and to retry after a failure. */
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called after this process's root key changed (API threads get the new one). */
  readonly onRootKeyChanged?: () => void;
}

export interface RotationMetrics {
  readonly generation: number;
  readonly inProgress: boolean;
  readonly rowsRemaining: number;
  readonly rowsResealed: number;
}

export interface RootKeyRotationService {
  /** Begins a rotation (the route). Throws BadRequestError when one cannot begin now. */
  begin(): Promise<RootKeyStatus>;
  status(): Promise<RootKeyStatus>;
  metrics(): RotationMetrics;
  /** Starts following the store (call once the root key is installed). */
  start(): void;
  /** Reads the root-key generations now and follows what changed (one read at a time). */
  follow(): Promise<void>;
  stop(): Promise<void>;
}

const iso = (ms: number | undefined): string => (ms === undefined ? '' : new Date(ms).toISOString());

export function createRootKeyRotation(options: RootKeyRotationOptions): RootKeyRotationService {
  const { store, state, logger } = options;
  const log = logger.child({ component: 'rotation' });
  const rotation = store.rotation;
  let phase: RotationPhase = 'idle';
  let driving: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let beginning = false;
  let rowsRemaining = 0;
  let rowsResealed = 0;
  let waitedForKeepers = false;
  const wake = new Set<() => void>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wake.delete(done);
        resolve();
      }
      wake.add(done);
    });

  /** The new key is ours now: custody pushes its shares, recover exports them, threads get it. */
  const tookNewKey = (): void => {
    state.followRotation();
    options.onRootKeyChanged?.();
  };

  /** Runs the unfinished rotation to its end (one loop per process). */
  const drive = (): void => {
    if (driving !== undefined || stopped || rotation?.status().rotating === undefined) return;
    driving = (async () => {
      let delay = 250;
      while (!stopped && rotation.status().rotating !== undefined) {
        try {
          phase = 'pushing-shares';
          await options.custody?.confirmShares?.();
          phase = 're-sealing';
          for (;;) {
            if (stopped) return;
            const visited = await rotation.resealBatch(options.batchSize);
            if (visited === 0) break;
            rowsResealed += visited;
            rowsRemaining = Math.max(0, rowsRemaining - visited);
            // Yield between batches, so requests keep their turn.
            await new Promise((resolve) => setImmediate(resolve));
          }
          phase = 'waiting-for-keepers';
          if (options.custody?.confirmShares !== undefined) {
            const holding = await options.custody.confirmShares();
            if (holding < options.threshold) {
              if (!waitedForKeepers)
                log.warn(
                  'rotation: fewer keepers than the threshold hold shares of the new root key; waiting before retiring the old one',
                  { holding, threshold: options.threshold },
                );
              waitedForKeepers = true;
              await sleep(options.pollIntervalMs);
              continue;
            }
          }
          phase = 'finishing';
          if (await rotation.finish(options.now())) {
            rowsRemaining = 0;
            tookNewKey();
            log.info('root-key rotation finished; recovery files written before it no longer work', {
              generation: rotation.status().generation,
            });
          }
          delay = 250;
        } catch (err) {
          if (err instanceof RetiredRootKeyError) {
            lostKey(err);
            return;
          }
          log.warn('rotation: a step failed; retrying', { error: (err as Error).message, inMs: delay });
          await sleep(delay);
          delay = Math.min(delay * 2, options.pollIntervalMs);
        }
      }
    })().finally(() => {
      phase = 'idle';
      driving = undefined;
      waitedForKeepers = false;
    });
  };

  /**
   * Without a usable key, recover the one the keepers hold now (a rotation elsewhere pushed its
   * shares to them before it retired the old key); once installed, the API threads get it too.
   */
  const recoverFromKeepers = (): void => {
    state.onReady(() => {
      log.info('root key recovered from the keepers after this Nexus dropped its own');
      tookNewKey();
    });
    options.custody?.start();
  };

  const lostKey = (err: RetiredRootKeyError): void => {
    log.error(
      'this Nexus holds a root key that a rotation elsewhere retired; it forgets it and is not ready until it has recovered the new key from the keepers',
      { generation: err.generation },
    );
    state.dropRootKey();
    recoverFromKeepers();
  };

  /** The store's generation is another key than ours (a restore or failover; ADR 0049). */
  const replacedKey = (): void => {
    log.error(
      "the database's root-key generation is not the key this Nexus holds (the database was restored or failed over and rotated again); it forgets its key and is not ready until it has recovered the database's key from the keepers",
    );
    state.dropRootKey();
    recoverFromKeepers();
  };

  /** Reads the generations again (a rotation by another process) and follows what changed. */
  const follow = async (): Promise<void> => {
    if (rotation === undefined || !state.isReady()) return;
    try {
      if (await rotation.refresh()) {
        tookNewKey();
        const s = rotation.status();
        log.info('root-key generation changed', {
          generation: s.generation,
          rotating: s.rotating !== undefined,
        });
      }
      drive();
    } catch (err) {
      if (err instanceof RetiredRootKeyError) lostKey(err);
      else if (err instanceof WrongRootKeyError) replacedKey();
      else log.warn('rotation: cannot read the root-key generations', { error: (err as Error).message });
    }
  };

  let following: Promise<void> | undefined;
  const followOnce = (): Promise<void> =>
    (following ??= follow().finally(() => {
      following = undefined;
    }));

  const view = async (): Promise<RootKeyStatus> => {
    if (rotation === undefined) {
      return {
        generation: 0,
        rotating: false,
        from: 0,
        phase: 'idle',
        startedAt: '',
        lastRotatedAt: '',
        rowsTotal: 0,
        rowsRemaining: 0,
      };
    }
    const counts = await rotation.countRows();
    const s = rotation.status();
    rowsRemaining = counts.old;
    return {
      generation: s.generation,
      rotating: s.rotating !== undefined,
      from: s.rotating?.from ?? 0,
      phase: s.rotating === undefined ? 'idle' : phase,
      startedAt: iso(s.rotating?.startedAt),
      lastRotatedAt: iso(s.lastRotatedAt),
      rowsTotal: counts.total,
      rowsRemaining: counts.old,
    };
  };

  return {
    async begin() {
      if (rotation === undefined) {
        throw new BadRequestError('the memory backend has no root key to rotate');
      }
      if (!state.isReady()) throw new NotReadyError('rotate-root-key: Nexus has no root key yet');
      if (beginning)
        throw new BadRequestError(
          new RotationInProgressError(rotation.status().generation, rotation.status().generation + 1).message,
        );
      beginning = true;
      const newKey = generateRootKey();
      try {
        // Another replica may have begun one meanwhile: read the generations first.
        await rotation.refresh().then((changed) => {
          if (changed) tookNewKey();
        });
        const s = rotation.status();
        if (s.rotating !== undefined) throw new RotationInProgressError(s.rotating.from, s.rotating.to);
        await rotation.begin(newKey, options.now());
      } catch (err) {
        if (err instanceof RotationInProgressError) throw new BadRequestError(err.message);
        throw err;
      } finally {
        zeroize(newKey);
        beginning = false;
      }
      tookNewKey();
      rowsRemaining = (await rotation.countRows()).old;
      log.info(
        'root-key rotation begun: keepers get shares of the new key; rows are re-sealed in the background',
        {
          generation: rotation.status().generation,
          rows: rowsRemaining,
        },
      );
      drive();
      return view();
    },
    status: view,
    follow: followOnce,
    metrics() {
      const s = rotation?.status();
      return {
        generation: state.hasRootKey() ? (s?.generation ?? 0) : 0,
        inProgress: s?.rotating !== undefined,
        rowsRemaining: s?.rotating === undefined ? 0 : rowsRemaining,
        rowsResealed,
      };
    },
    start() {
      if (rotation === undefined || stopped || timer !== undefined) return;
      state.onReady(() => {
        if (stopped) return;
        void rotation.countRows().then(
          (c) => (rowsRemaining = c.old),
          () => undefined,
        );
        drive();
      });
      timer = setInterval(() => void followOnce(), options.pollIntervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      for (const w of [...wake]) w();
      await driving;
    },
  };
}
