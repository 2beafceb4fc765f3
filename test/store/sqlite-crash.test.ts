import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import { createSqliteStore } from '@spike-ts/store';
import { rawDb, tempDataDir } from '@spike-ts/store/testing';

const WRITER = fileURLToPath(new URL('./sqlite-crash-writer.ts', import.meta.url));

interface Acks {
  paths: number[];
  counter: number;
  signal: NodeJS.Signals | null;
}

/** Runs the writer until it acknowledged `killAfter` secrets, then SIGKILLs it mid-load. */
function runAndKill(children: Set<ChildProcess>, args: string[], killAfter: number): Promise<Acks> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    let acked = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      acked += chunk.split('\n').filter((l) => l.startsWith('ack ')).length;
      out += chunk;
      if (acked >= killAfter) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      children.delete(child);
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer ended without being killed (signal ${signal}): ${err}`));
        return;
      }
      // Only complete lines count: the last one may have been cut by the kill.
      const lines = out.split('\n').slice(0, -1);
      const paths = lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      const counter = Math.max(
        0,
        ...lines.filter((l) => l.startsWith('counter ')).map((l) => Number(l.slice(8))),
      );
      resolve({ paths, counter, signal });
    });
  });
}

describe('sqlite store: crash safety', () => {
  it('every write acknowledged before a SIGKILL reads back after reopening', async (t) => {
    const children = new Set<ChildProcess>();
    t.after(() => {
      for (const c of children) c.kill('SIGKILL');
    });
    const dataDir = tempDataDir(t);
    const key = randomBytes(32);
    const keyHex = Buffer.from(key).toString('hex');
    const rounds: Acks[] = [];
    // Two rounds: the second starts from the first crash's leftover WAL and is killed too.
    rounds.push(await runAndKill(children, [dataDir, keyHex, '0'], 300));
    rounds.push(await runAndKill(children, [dataDir, keyHex, '1000000'], 300));

    const store = createSqliteStore({ dataDir });
    t.after(() => store.close());
    await store.unlock(key);
    const stored = new Set(await store.listSecretPaths());
    for (const round of rounds) {
      assert.ok(round.paths.length >= 300, `round acknowledged ${round.paths.length} writes`);
      for (const n of round.paths) {
        const rec = await store.getSecret(`crash/${n}`);
        assert.equal(rec?.versions[0]?.data['n'], String(n), `acknowledged write crash/${n} was lost`);
        assert.ok(stored.has(`crash/${n}`));
      }
    }
    const counter = Number((await store.getSecret('crash/counter'))?.versions.at(-1)?.data['count']);
    assert.ok(counter >= (rounds[1]?.counter ?? 0), `counter ${counter} is behind an acknowledged value`);
    const db = rawDb(dataDir);
    t.after(() => db.close());
    assert.equal(db.prepare('PRAGMA integrity_check').get()?.['integrity_check'], 'ok');
  });
});
