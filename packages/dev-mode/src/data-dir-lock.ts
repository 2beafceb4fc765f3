/**
 * One `spike-dev` per data directory: two Nexus processes on one SQLite file, each with its own
 * caches and keepers, would corrupt each other's view. The lock is a pid file created
 * exclusively; a file left by a process that no longer runs is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'spike-dev.pid';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

/** Creates `dir` (0700) if needed and takes its lock; returns the release function. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, LOCK_FILE);
  const mine = `${String(process.pid)}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = Number.parseInt(readText(file), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new DataDirInUseError(
          `${dir} is in use by another spike-dev (pid ${String(holder)}). Stop it first, or choose another --data-dir.`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  return () => {
    if (readText(file) === mine) rmSync(file, { force: true });
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
