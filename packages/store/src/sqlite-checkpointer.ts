/**
 * WAL checkpoints on a thread of their own (ADR 0048).
 *
 * `node:sqlite` is synchronous, so SQLite's automatic checkpoint, which runs inside the COMMIT
 * that crosses 1,000 WAL pages, blocks the writing thread while it copies pages into the database
 * file and syncs it. Here the writing connection gets `wal_autocheckpoint = 0` and a small worker
 * thread, with a connection of its own to the same file, runs `PRAGMA wal_checkpoint(PASSIVE)`
 * instead: after every `everyMutations` committed mutations (the writer rings it), after
 * `idleMs` without a checkpoint while anything is left to move, and as soon as the WAL file grows
 * past `softLimitBytes`. PASSIVE never waits for the writer or for readers; pages a reader's
 * snapshot still needs are moved by a later run. SQLite writes the log again from its start only
 * if every frame was moved when a write transaction begins, which a thread copying while the
 * writer commits never reaches under a steady load; so after each round of the thread that moved
 * everything it saw, the writer runs one PASSIVE of its own for the few frames committed since.
 *
 * Bounds: past `hardLimitBytes` of WAL the writing thread checkpoints itself (PASSIVE, as
 * SQLite's automatic checkpoint does); while no checkpoint thread runs (not started yet, died,
 * stopped) the writing connection has SQLite's automatic checkpoint back; a thread that died is
 * logged and started again after a delay. `journal_size_limit` trims the WAL file back to
 * `softLimitBytes` when the writer restarts the log after a burst.
 *
 * Durability is untouched: every COMMIT still syncs the WAL (`synchronous=FULL`); a checkpoint
 * only copies committed pages, and its connection syncs the WAL before and the database file
 * after the copy, before the writer may reuse the log. The thread opens no rows: it runs that one
 * pragma, with the defensive settings of the writing connection, on the file the writing
 * connection created (0600); it never creates one.
 */
import { statSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@spike-ts/core';

/** SQLite's default automatic checkpoint, in WAL pages: the fallback while no thread runs. */
export const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

export interface WalCheckpointTuning {
  /** Committed mutations after which the thread is rung (default 200: about 1,000 pages). */
  readonly everyMutations?: number;
  /** A checkpoint after this long without one while anything is left to move (default 1000). */
  readonly idleMs?: number;
  /** WAL file size that rings the thread at once, and that a restarted log is trimmed to (16 MiB). */
  readonly softLimitBytes?: number;
  /** WAL file size past which the writing thread checkpoints itself (default 64 MiB). */
  readonly hardLimitBytes?: number;
  /** Short passes after a complete one (default 2). */
  readonly followUps?: number;
  /** Delay before starting a thread that died again: `firstMs`, doubled up to `maxMs` (1 s, 60 s). */
  readonly restart?: { readonly firstMs: number; readonly maxMs: number };
}

export interface WalCheckpointerOptions extends WalCheckpointTuning {
  /** The writing connection (WAL mode); it is the one that commits. */
  readonly db: DatabaseSync;
  /** Path of the database file (`<file>-wal` is its log). */
  readonly file: string;
  readonly busyTimeoutMs: number;
  readonly logger: Logger;
}

export interface WalCheckpointStats {
  /** A checkpoint thread is up and the writing connection's automatic checkpoint is off. */
  readonly running: boolean;
  /** Checkpoints the thread ran (every one, including those a reader or the writer cut short). */
  readonly threadRuns: number;
  /** Checkpoints the writing thread ran itself because the WAL passed the hard limit. */
  readonly fallbackRuns: number;
  /** Short checkpoints of the writing thread that finish a complete one of the thread. */
  readonly catchUps: number;
  /** Frames those moved (roughly: what was committed while the thread copied). */
  readonly catchUpFrames: number;
  /** Threads started after one died. */
  readonly restarts: number;
  /** The last result of the thread: frames in the WAL and frames moved into the database. */
  readonly lastLogFrames: number;
  readonly lastMovedFrames: number;
}

export interface WalCheckpointer {
  /** Call after every COMMIT of the writing connection, with the mutations it carried. */
  committed(mutations: number): void;
  stats(): WalCheckpointStats;
  /** Resolves true once a thread is up, false if it could not start (then the fallback runs). */
  ready(): Promise<boolean>;
  /** The current thread (tests terminate it to see the fallback). */
  readonly thread: Worker | undefined;
  /**
   * Stops the thread and closes its connection (so that closing the writing connection, then the
   * last one, checkpoints and removes the WAL as before); the writing connection gets SQLite's
   * automatic checkpoint back.
   */
  stop(): Promise<void>;
}

// Cells of the shared state (Int32Array). Counters wrap; differences are taken modulo 2^32.
const COMMITTED = 0; // mutations committed by the writer
const BELL = 1; // bumped (and notified) by the writer to wake the thread
const STOP = 2; // 1: the thread closes its connection and ends
const RUNS = 3; // checkpoints run by the thread
const DONE_AT = 4; // COMMITTED when the thread's last checkpoint began
const LOG = 5; // frames in the WAL at the last checkpoint
const MOVED = 6; // frames moved at the last checkpoint
const COMPLETE = 7; // RUNS after the last checkpoint that moved every frame it saw
const ACKED = 8; // COMPLETE when the writer last finished such a round (see catchUp)
const CELLS = 9;

/** How long `stop` waits for a checkpoint in progress before terminating the thread. */
const STOP_WAIT_MS = 10_000;

/**
 * The thread's code: plain JavaScript, so that it needs neither the type stripper (tens of MiB
 * per thread, ADR 0034) nor any module of Nexus, and it loads nothing that could hold a secret.
 */
const THREAD_SOURCE = `'use strict';
const { existsSync } = require('node:fs');
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const { file, state, every, idleMs, busyTimeoutMs, followUps } = workerData;
const [COMMITTED, BELL, STOP, RUNS, DONE_AT, LOG, MOVED, COMPLETE, ACKED] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
// Passes right after one that moved everything it saw: each moves what was committed during
// the one before (fewer frames each time), so that the writer's own final pass is small.
const FOLLOW_UPS = followUps;
// Never create a database: the writing connection made this one, private (0600).
if (!existsSync(file)) throw new Error('database file is missing');
const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
try {
  db.enableDefensive(true);
  db.exec('PRAGMA trusted_schema = OFF');
  // The checkpoint syncs the WAL before copying and the database file after it.
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA cache_size = -64');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  const pass = () => {
    Atomics.store(state, DONE_AT, Atomics.load(state, COMMITTED));
    const r = checkpoint.get();
    if (r.log < 0) throw new Error('the database is not in WAL mode');
    Atomics.store(state, LOG, r.log);
    Atomics.store(state, MOVED, r.checkpointed);
    const runs = Atomics.add(state, RUNS, 1) + 1;
    return { r, complete: r.busy === 0 && r.checkpointed === r.log, runs };
  };
  const run = () => {
    let last = pass();
    for (let i = 0; i < FOLLOW_UPS && last.complete && Atomics.load(state, STOP) === 0; i++) {
      const next = pass();
      const nothingNew = next.r.log === last.r.log;
      last = next;
      if (nothingNew) break;
    }
    if (last.complete) Atomics.store(state, COMPLETE, last.runs);
    return !last.complete;
  };
  let unfinished = run();
  // After a complete round the writer gets the checkpoint lock for its short final pass before
  // the next round begins; if it does not come within idleMs (no writes), the thread goes on.
  let gaveUpOn = -1;
  parentPort.postMessage('ready');
  for (;;) {
    const bell = Atomics.load(state, BELL);
    if (Atomics.load(state, STOP) !== 0) break;
    const complete = Atomics.load(state, COMPLETE);
    const forWriter = complete !== Atomics.load(state, ACKED) && complete !== gaveUpOn;
    if (forWriter || ((Atomics.load(state, COMMITTED) - Atomics.load(state, DONE_AT)) | 0) < every) {
      if (Atomics.wait(state, BELL, bell, idleMs) !== 'timed-out') continue;
      if (Atomics.load(state, STOP) !== 0) break;
      if (forWriter) gaveUpOn = complete;
      if (Atomics.load(state, COMMITTED) === Atomics.load(state, DONE_AT) && !unfinished) continue;
    }
    unfinished = run();
  }
} finally {
  db.close();
}
`;

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
  return v;
}

/** Starts the checkpoint thread of a writing connection in WAL mode. */
export function startWalCheckpointer(opts: WalCheckpointerOptions): WalCheckpointer {
  const { db, logger } = opts;
  const every = positive('everyMutations', opts.everyMutations, 200);
  const idleMs = positive('idleMs', opts.idleMs, 1000);
  const followUps = opts.followUps ?? 2;
  if (!Number.isSafeInteger(followUps) || followUps < 0 || followUps > 10) {
    throw new RangeError('followUps must be an integer in 0..10');
  }
  const soft = positive('softLimitBytes', opts.softLimitBytes, 16 * 1024 * 1024);
  const hard = positive('hardLimitBytes', opts.hardLimitBytes, 64 * 1024 * 1024);
  if (hard < soft) throw new RangeError('hardLimitBytes must be at least softLimitBytes');
  const restart = opts.restart ?? { firstMs: 1000, maxMs: 60_000 };
  const walFile = `${opts.file}-wal`;
  const state = new Int32Array(new SharedArrayBuffer(CELLS * 4));
  const ownCheckpoint: StatementSync = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  // A restarted log is cut back to the soft limit, so the file size tells how far the log grew.
  db.exec(`PRAGMA journal_size_limit = ${String(soft)}`);

  let thread: Worker | undefined;
  let running = false;
  let stopping = false;
  let restarts = 0;
  let fallbackRuns = 0;
  let lastFallbackLog = 0;
  let catchUps = 0;
  let catchUpFrames = 0;
  let caughtUpAfter = 0;
  let delayMs = restart.firstMs;
  let restartTimer: NodeJS.Timeout | undefined;
  let rungAt: number | undefined;
  let readiness: Promise<boolean> = Promise.resolve(false);

  const autocheckpoint = (pages: number): void => {
    try {
      db.exec(`PRAGMA wal_autocheckpoint = ${String(pages)}`);
    } catch (err) {
      // Only when the writing connection is closed already: nothing left to checkpoint from it.
      logger.debug('wal_autocheckpoint not changed', { err });
    }
  };

  const start = (): void => {
    let settle: (up: boolean) => void = () => undefined;
    readiness = new Promise<boolean>((resolve) => (settle = resolve));
    let failure: unknown;
    let worker: Worker;
    try {
      worker = new Worker(THREAD_SOURCE, {
        eval: true,
        name: 'spike-wal-checkpoint',
        env: {},
        workerData: { file: opts.file, state, every, idleMs, busyTimeoutMs: opts.busyTimeoutMs, followUps },
        // It runs one pragma: a small heap is plenty.
        resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
      });
    } catch (err) {
      logger.error('wal checkpoint thread could not start; the writing thread checkpoints', { err });
      settle(false);
      return;
    }
    thread = worker;
    worker.on('message', (msg) => {
      if (msg !== 'ready' || thread !== worker || stopping) return;
      autocheckpoint(0);
      running = true;
      delayMs = restart.firstMs;
      settle(true);
    });
    worker.on('error', (err) => {
      failure = err;
    });
    // Never keeps the process alive (after the listeners: adding one refs the thread's port again).
    worker.unref();
    worker.on('exit', (code) => {
      if (thread !== worker) return;
      thread = undefined;
      const wasRunning = running;
      running = false;
      autocheckpoint(SQLITE_AUTOCHECKPOINT_PAGES);
      settle(false);
      if (stopping) return;
      logger.error('wal checkpoint thread ended; SQLite checkpoints inside COMMIT until it is back', {
        code,
        err: failure,
        wasRunning,
        restartInMs: delayMs,
      });
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (stopping) return;
        restarts++;
        start();
        void readiness.then((up) => {
          if (up) logger.info('wal checkpoint thread restarted');
        });
      }, delayMs);
      restartTimer.unref();
      delayMs = Math.min(delayMs * 2, restart.maxMs);
    });
  };

  const walSize = (): number => statSync(walFile, { throwIfNoEntry: false })?.size ?? 0;

  const ring = (): void => {
    const at = Atomics.load(state, DONE_AT);
    if (rungAt === at) return;
    rungAt = at;
    Atomics.add(state, BELL, 1);
    Atomics.notify(state, BELL);
  };

  /**
   * SQLite restarts the log (writes it again from its start) only if every frame in it was
   * moved when a write transaction begins. Under a steady load the thread never gets there by
   * itself: frames are committed while it copies. So once the thread has moved everything it
   * saw, the writer moves the few frames committed since (little to copy, little to sync).
   */
  const catchUp = (): void => {
    const complete = Atomics.load(state, COMPLETE);
    const movedBefore = Atomics.load(state, MOVED);
    const logBefore = Atomics.load(state, LOG);
    const r = ownCheckpoint.get() as { busy: number; log: number; checkpointed: number } | undefined;
    // Busy: the thread has begun another pass; the next commit tries again after it.
    if (r === undefined || r.busy !== 0) return;
    caughtUpAfter = complete;
    catchUps++;
    Atomics.store(state, ACKED, complete);
    Atomics.add(state, BELL, 1);
    Atomics.notify(state, BELL);
    if (r.log >= logBefore) catchUpFrames += Math.max(0, r.checkpointed - movedBefore);
  };

  const checkpointHere = (size: number): void => {
    fallbackRuns++;
    const r = ownCheckpoint.get();
    const now = Date.now();
    if (now - lastFallbackLog >= 60_000) {
      lastFallbackLog = now;
      logger.warn('wal passed its hard limit; the writing thread checkpointed it', {
        walBytes: size,
        hardLimitBytes: hard,
        threadRunning: running,
        result: r,
        fallbackRuns,
      });
    }
  };

  logger.debug('wal checkpoints on a thread of their own', { everyMutations: every, idleMs, soft, hard });
  start();

  return {
    committed(mutations: number): void {
      if (stopping) return;
      const total = (Atomics.add(state, COMMITTED, mutations) + mutations) | 0;
      try {
        const size = walSize();
        if (size > hard) checkpointHere(size);
        else if (running && Atomics.load(state, COMPLETE) !== caughtUpAfter) catchUp();
        if (running && (((total - Atomics.load(state, DONE_AT)) | 0) >= every || size > soft)) ring();
      } catch (err) {
        // The commit stands (its callers are answered); the next commit tries again.
        logger.error('wal check after a commit failed', { err });
      }
    },
    stats: () => ({
      running,
      threadRuns: Atomics.load(state, RUNS),
      fallbackRuns,
      catchUps,
      catchUpFrames,
      restarts,
      lastLogFrames: Atomics.load(state, LOG),
      lastMovedFrames: Atomics.load(state, MOVED),
    }),
    ready: () => readiness,
    get thread() {
      return thread;
    },
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      const worker = thread;
      running = false;
      autocheckpoint(SQLITE_AUTOCHECKPOINT_PAGES);
      if (worker === undefined) return;
      Atomics.store(state, STOP, 1);
      Atomics.add(state, BELL, 1);
      Atomics.notify(state, BELL);
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>(
        (resolve) => (timer = setTimeout(() => resolve('late'), STOP_WAIT_MS)),
      );
      try {
        if ((await Promise.race([exited, late])) === 'late') {
          logger.warn('wal checkpoint thread did not stop in time; terminating it');
          await worker.terminate();
        }
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
