import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { createLogger, randomBytes } from '@spike-ts/core';
import type { Logger } from '@spike-ts/core';
import {
  SQLITE_AUTOCHECKPOINT_PAGES,
  startWalCheckpointer,
  type WalCheckpointer,
  type WalCheckpointerOptions,
} from './sqlite-checkpointer.ts';
import { openSqliteDatabase, SQLITE_FILE_NAME } from './sqlite-open.ts';
import type { JournalMode } from './sqlite-open.ts';
import { createSqliteStore } from './sqlite-store.ts';
import { putVersion } from './contract-fixture.ts';
import { rawDb, tempDataDir } from './sqlite-test-kit.ts';

interface Logged {
  level: string;
  msg: string;
}

function capturingLogger(): { logger: Logger; lines: Logged[] } {
  const lines: Logged[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line) as Logged) });
  return { logger, lines };
}

/** The store's file opened with the store's own pragmas, plus a table of filler rows. */
function openWriter(t: TestContext, journalMode: JournalMode = 'WAL'): { db: DatabaseSync; file: string } {
  const dataDir = tempDataDir(t);
  const { db, file } = openSqliteDatabase({
    dataDir,
    journalMode,
    busyTimeoutMs: 5000,
    logger: createLogger({ level: 'error', sink: () => undefined }),
  });
  db.exec('CREATE TABLE filler (k INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  t.after(() => db.close());
  return { db, file };
}

function start(
  t: TestContext,
  db: DatabaseSync,
  file: string,
  logger: Logger,
  tuning: Partial<WalCheckpointerOptions> = {},
): WalCheckpointer {
  const c = startWalCheckpointer({ db, file, busyTimeoutMs: 5000, logger, ...tuning });
  // Runs before the writer's own `after` (last registered, first run), as the store does.
  t.after(() => c.stop());
  return c;
}

function pragmaNumber(db: DatabaseSync, sql: string): number {
  const row = db.prepare(sql).get();
  return Number(row === undefined ? NaN : Object.values(row)[0]);
}

const walBytes = (file: string): number => statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;

/** One commit per row of 1 KiB (a new row every time, so the file has to grow). */
function writeRows(
  db: DatabaseSync,
  from: number,
  n: number,
  afterCommit: (i: number) => void = () => undefined,
): void {
  const insert = db.prepare('INSERT INTO filler (k, v) VALUES (?, ?)');
  for (let i = from; i < from + n; i++) {
    db.exec('BEGIN IMMEDIATE');
    insert.run(i, randomBytes(1024));
    db.exec('COMMIT');
    afterCommit(i);
  }
}

/** Yields to the event loop until `done()` holds (the test's own timeout bounds the wait). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('sqlite WAL checkpoint thread', () => {
  it('checkpoints the WAL from its own thread; the writer only finishes each round', async (t) => {
    const { db, file } = openWriter(t);
    const { logger } = capturingLogger();
    const c = start(t, db, file, logger, { everyMutations: 20, idleMs: 20 });
    assert.equal(await c.ready(), true);
    assert.equal(pragmaNumber(db, 'PRAGMA wal_autocheckpoint'), 0);
    const dbBytesBefore = statSync(file).size;

    let largest = 0;
    writeRows(db, 0, 2000, () => {
      largest = Math.max(largest, walBytes(file));
      c.committed(1);
    });
    // The log is restarted again and again: 2,000 commits without that are over 16 MiB of WAL.
    assert.ok(largest < 16 * 1024 * 1024, `WAL file reached ${String(largest)} bytes`);
    // One more commit, then wait for a checkpoint of the thread that began after it.
    const runs = c.stats().threadRuns;
    writeRows(db, 2000, 1, () => c.committed(1));
    await until(() => {
      const s = c.stats();
      return s.threadRuns > runs && s.lastLogFrames > 0 && s.lastMovedFrames === s.lastLogFrames;
    });
    const writer = c.stats();
    assert.equal(writer.fallbackRuns, 0, 'the hard limit was not reached');
    assert.ok(writer.threadRuns > 1, `thread ran ${String(writer.threadRuns)} checkpoints`);
    // The writer only moves what was committed while the thread copied (2,001 commits of at
    // least one new page each: well over 2,000 frames in all).
    assert.ok(writer.catchUpFrames < 1000, JSON.stringify(writer));
    assert.equal(pragmaNumber(db, 'PRAGMA wal_autocheckpoint'), 0);
    // Only a checkpoint writes the database file: SQLite's inside COMMIT is off.
    assert.ok(
      statSync(file).size >= dbBytesBefore + 2000 * 1024,
      `database file ${String(statSync(file).size)} bytes holds the 2000 rows`,
    );

    await c.stop();
    assert.equal(c.thread, undefined);
    assert.equal(pragmaNumber(db, 'PRAGMA wal_autocheckpoint'), SQLITE_AUTOCHECKPOINT_PAGES);
  });

  it('keeps the WAL file within the hard limit under a sustained load', async (t) => {
    const { db, file } = openWriter(t);
    const { logger } = capturingLogger();
    const soft = 256 * 1024;
    const hard = 1024 * 1024;
    const c = start(t, db, file, logger, { softLimitBytes: soft, hardLimitBytes: hard });
    assert.equal(await c.ready(), true);
    let largest = 0;
    // About 2 pages (16 KiB) of WAL per commit: 3000 commits are ~48 MiB without checkpoints.
    writeRows(db, 0, 3000, () => {
      largest = Math.max(largest, walBytes(file));
      c.committed(1);
    });
    // Past the hard limit the writer checkpoints itself, unless the thread is in the middle of
    // one; then the log grows by what the writer commits until that checkpoint ends.
    assert.ok(largest <= 8 * hard, `WAL file reached ${String(largest)} bytes`);
    const s = c.stats();
    assert.ok(s.threadRuns + s.fallbackRuns > 0);
  });

  it('past the hard limit the writing thread checkpoints itself and says so', async (t) => {
    const { db, file } = openWriter(t);
    const { logger, lines } = capturingLogger();
    const hard = 1024 * 1024;
    const c = start(t, db, file, logger, {
      softLimitBytes: 256 * 1024,
      hardLimitBytes: hard,
      restart: { firstMs: 3_600_000, maxMs: 3_600_000 },
    });
    assert.equal(await c.ready(), true);
    await c.thread?.terminate();
    let largest = 0;
    writeRows(db, 0, 1000, () => {
      largest = Math.max(largest, walBytes(file));
      c.committed(1);
    });
    // No thread: the writer's PASSIVE checkpoint past 1 MiB (before SQLite's own at 8 MiB) moves
    // everything, and the next commit restarts the log: one commit above the limit at most.
    assert.ok(c.stats().fallbackRuns > 0);
    assert.ok(largest <= hard + 64 * 1024, `WAL file reached ${String(largest)} bytes`);
    assert.ok(lines.some((l) => l.level === 'warn' && l.msg.startsWith('wal passed its hard limit')));
  });

  it('falls back to SQLite checkpoints when the thread is terminated, logs it, and keeps the WAL bounded', async (t) => {
    const { db, file } = openWriter(t);
    const { logger, lines } = capturingLogger();
    const c = start(t, db, file, logger, { restart: { firstMs: 3_600_000, maxMs: 3_600_000 } });
    assert.equal(await c.ready(), true);
    assert.equal(pragmaNumber(db, 'PRAGMA wal_autocheckpoint'), 0);
    const thread = c.thread;
    assert.ok(thread !== undefined);
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    await thread.terminate();
    await exited;

    assert.equal(c.stats().running, false);
    assert.equal(pragmaNumber(db, 'PRAGMA wal_autocheckpoint'), SQLITE_AUTOCHECKPOINT_PAGES);
    assert.ok(
      lines.some((l) => l.level === 'error' && l.msg.startsWith('wal checkpoint thread ended')),
      JSON.stringify(lines),
    );
    const runs = c.stats().threadRuns;
    let largest = 0;
    writeRows(db, 0, 3000, () => {
      largest = Math.max(largest, walBytes(file));
      c.committed(1);
    });
    // SQLite's own checkpoint every 1000 pages (8 MiB) again; ~48 MiB without it.
    const bound = (SQLITE_AUTOCHECKPOINT_PAGES + 64) * 8192;
    assert.ok(largest <= bound, `WAL file reached ${String(largest)} bytes`);
    assert.equal(c.stats().threadRuns, runs, 'no thread ran');
    assert.equal(c.stats().fallbackRuns, 0, 'the hard limit (64 MiB) was not needed');
  });

  it('starts a thread that died again, which takes the checkpoints back', async (t) => {
    const { db, file } = openWriter(t);
    const { logger, lines } = capturingLogger();
    const c = start(t, db, file, logger, { restart: { firstMs: 10, maxMs: 10 } });
    assert.equal(await c.ready(), true);
    const first = c.thread;
    await first?.terminate();
    await until(() => c.stats().restarts === 1 && c.thread !== undefined);
    assert.equal(await c.ready(), true);
    assert.notEqual(c.thread, first);
    assert.equal(pragmaNumber(db, 'PRAGMA wal_autocheckpoint'), 0);
    await until(() => lines.some((l) => l.msg === 'wal checkpoint thread restarted'));
  });

  it('moves what a reader holding an old snapshot kept once the reader is done', async (t) => {
    const { db, file } = openWriter(t);
    const { logger } = capturingLogger();
    const c = start(t, db, file, logger, { everyMutations: 10, idleMs: 20 });
    assert.equal(await c.ready(), true);
    writeRows(db, 0, 10, () => c.committed(1));
    const reader = rawDb(join(file, '..'));
    t.after(() => reader.close());
    reader.exec('BEGIN');
    assert.equal(pragmaNumber(reader, 'SELECT count(*) FROM filler'), 10);
    writeRows(db, 10, 200, () => c.committed(1));
    const held = c.stats().threadRuns;
    // While the snapshot is held, checkpoints cannot move the frames written after it.
    await until(() => c.stats().threadRuns > held + 1);
    const s = c.stats();
    assert.ok(s.lastMovedFrames < s.lastLogFrames, JSON.stringify(s));
    reader.exec('COMMIT');
    await until(() => {
      const now = c.stats();
      return now.lastLogFrames > 0 && now.lastMovedFrames === now.lastLogFrames;
    });
    assert.equal(pragmaNumber(db, 'SELECT count(*) FROM filler'), 210);
  });

  it('never creates a database file and refuses a database that is not in WAL mode', async (t) => {
    const { db, file } = openWriter(t, 'DELETE');
    const { logger, lines } = capturingLogger();
    const noRestart = { restart: { firstMs: 3_600_000, maxMs: 3_600_000 } };
    const c = start(t, db, file, logger, noRestart);
    assert.equal(await c.ready(), false);
    assert.ok(lines.some((l) => l.level === 'error'));

    const missingDir = join(tempDataDir(t), 'nowhere');
    mkdirSync(missingDir, { recursive: true });
    const missing = join(missingDir, SQLITE_FILE_NAME);
    const m = start(t, db, missing, logger, noRestart);
    assert.equal(await m.ready(), false);
    assert.equal(existsSync(missing), false);
  });

  it('rejects bad tuning values', (t) => {
    const { db, file } = openWriter(t);
    const logger = capturingLogger().logger;
    const bad: Partial<WalCheckpointerOptions>[] = [
      { everyMutations: 0 },
      { idleMs: -1 },
      { softLimitBytes: 1.5 },
      { hardLimitBytes: Number.NaN },
      { softLimitBytes: 2048, hardLimitBytes: 1024 },
      { followUps: -1 },
      { followUps: 11 },
    ];
    for (const tuning of bad) {
      assert.throws(
        () => startWalCheckpointer({ db, file, busyTimeoutMs: 0, logger, ...tuning }),
        RangeError,
      );
    }
  });
});

describe('sqlite store with the WAL checkpoint thread', () => {
  it('checkpoints and removes the WAL on close, and loses no write', async (t) => {
    const dataDir = tempDataDir(t);
    const key = randomBytes(32);
    const { logger, lines } = capturingLogger();
    const store = createSqliteStore({ dataDir, logger, walCheckpointer: { everyMutations: 50 } });
    await store.unlock(key);
    await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        store.updateSecret(`c/${String(i)}`, putVersion(`c/${String(i)}`, { i: String(i) })),
      ),
    );
    const file = join(dataDir, SQLITE_FILE_NAME);
    assert.ok(walBytes(file) > 0);
    await store.close();
    assert.equal(existsSync(`${file}-wal`), false, 'closing the last connection checkpointed the WAL');
    assert.ok(lines.some((l) => l.msg === 'wal checkpoints on a thread of their own'));

    const again = createSqliteStore({ dataDir });
    t.after(() => again.close());
    await again.unlock(key);
    assert.equal((await again.listSecretPaths()).length, 400);
    assert.equal((await again.getSecret('c/399'))?.versions[0]?.data['i'], '399');
  });

  it('keeps SQLite checkpoints inside COMMIT in the other journal modes', async (t) => {
    const dataDir = tempDataDir(t);
    const { logger, lines } = capturingLogger();
    const store = createSqliteStore({ dataDir, journalMode: 'DELETE', logger });
    await store.unlock(randomBytes(32));
    await store.updateSecret('d/1', putVersion('d/1', { a: 'b' }));
    await store.close();
    // A thread on a database that is not in WAL mode would have failed and said so.
    assert.equal(
      lines.some((l) => l.msg.includes('wal checkpoint')),
      false,
      JSON.stringify(lines),
    );
    assert.equal(existsSync(join(dataDir, `${SQLITE_FILE_NAME}-wal`)), false);
  });
});
