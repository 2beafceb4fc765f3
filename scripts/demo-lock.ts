/**
 * One `npm run demo` per state directory: `<dir>/demo.pid`, created exclusively, names the demo
 * that owns the directory. A file left by a demo that died (its pid no longer runs) is taken over.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoLock {
  readonly acquired: boolean;
  /** The pid of the running demo that holds the directory, when not acquired. */
  readonly holder?: number;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDemoLock(dir: string): DemoLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'demo.pid');
  const mine = String(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${mine}\n`, { flag: 'wx', mode: 0o600 });
      return {
        acquired: true,
        release: () => {
          try {
            if (readFileSync(file, 'utf8').trim() === mine) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(file, 'utf8').trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      return { acquired: false, holder, release: () => undefined };
    }
    try {
      unlinkSync(file); // left by a demo that is gone
    } catch {
      // someone else took it over first
    }
  }
  throw new Error(`cannot take ${file}: it keeps changing`);
}
