import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createLogger } from '@spike-ts/core';
import { createApiThreads, createCounters } from './api-threads.ts';

/**
 * A stand-in for api-worker.ts that speaks the same protocol: it reports that it listens, notes
 * in a file what it received (a policy snapshot, a root key), and exits after a while.
 */
const FAKE_WORKER = `
import { appendFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
const note = (line) => appendFileSync(process.env.FAKE_WORKER_NOTES, line + '\\n');
workerData.policyPort.on('message', (m) => note('policies ' + m.body.kind));
workerData.commitPort.on('message', (m) => note('commits from ' + m.seq));
parentPort.on('message', (m) => {
  if (m.type === 'root-key') note('root key of ' + m.key.length + ' bytes');
  if (m.type === 'stop') process.exit(0);
});
parentPort.postMessage({ type: 'listening' });
setTimeout(() => process.exit(3), 30);
`;

interface Logged {
  readonly msg: string;
  readonly thread?: number;
  readonly inMs?: number;
}

describe('API threads: a worker that exits is restarted with backoff', () => {
  it('restarts it, each time with the root key, later and later while it keeps failing; not after stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spike-api-threads-'));
    const script = join(dir, 'fake-worker.mjs');
    writeFileSync(script, FAKE_WORKER);
    const notes = join(dir, 'notes');
    writeFileSync(notes, '');
    process.env.FAKE_WORKER_NOTES = notes;
    const logged: Logged[] = [];
    const logger = createLogger({
      level: 'debug',
      sink: (line) => logged.push(JSON.parse(line) as Logged),
    });
    const threads = createApiThreads({
      workers: 1,
      counters: createCounters(),
      handler: () => undefined,
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
      keepAliveTimeoutMs: 1_000,
      logger,
      onRootKey: (fn) => fn(new Uint8Array(32).fill(7)),
      policies: () => [],
      onAudit: () => undefined,
      workerUrl: pathToFileURL(script),
      restart: { firstMs: 40, maxMs: 160, stableMs: 10_000 },
    });
    try {
      await threads.start(0, '127.0.0.1');
      const restarts = (): Logged[] =>
        logged.filter((l) => l.msg.startsWith('API thread exited; restarting'));
      const deadline = Date.now() + 10_000;
      while (restarts().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        restarts()
          .slice(0, 4)
          .map((l) => l.inMs),
        [40, 80, 160, 160],
        'doubling from the first delay, capped',
      );
      const started = logged.filter((l) => l.msg === 'API thread restarted').length + 1;
      assert.ok(started >= 4);
      // Every run of the worker got the policy snapshot and the root key (give the last a moment).
      await new Promise((r) => setTimeout(r, 20));
      const lines = readFileSync(notes, 'utf8').split('\n');
      assert.ok(lines.filter((l) => l === 'policies load').length >= started - 1, lines.join(' | '));
      assert.ok(lines.filter((l) => l === 'root key of 32 bytes').length >= started - 1, lines.join(' | '));
      assert.ok(lines.filter((l) => l === 'commits from 0').length >= started - 1, lines.join(' | '));
      await threads.stop();
      const after = restarts().length;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(restarts().length, after, 'no restart once stopped');
    } finally {
      await threads.stop();
      delete process.env.FAKE_WORKER_NOTES;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
