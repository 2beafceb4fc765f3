import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createLogger } from '@spike-ts/core';
import type { MetricJson } from '../metrics/cells.ts';
import { aggregate } from '../metrics/scrape.ts';
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

/**
 * A stand-in worker for the metrics protocol: answers each metrics request with a counter of
 * 10 × its index and a gauge of 1; `FAKE_SILENT` names a worker that answers only the first
 * request, `FAKE_EXIT` one that exits right after its first answer.
 */
const METRICS_WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
const me = String(workerData.index);
let asked = 0;
parentPort.on('message', (m) => {
  if (m.type === 'stop') process.exit(0);
  if (m.type !== 'metrics') return;
  asked += 1;
  if (process.env.FAKE_SILENT === me && asked > 1) return;
  parentPort.postMessage({ type: 'metrics', id: m.id, metrics: [
    { name: 'spike_x_total', help: 'x', type: 'counter', aggregator: 'sum', values: [{ labels: {}, value: 10 * workerData.index }] },
    { name: 'spike_g', help: 'g', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: 1 }] },
  ] });
  if (process.env.FAKE_EXIT === me) setTimeout(() => process.exit(3), 10);
});
parentPort.postMessage({ type: 'listening' });
`;

describe('API threads: metrics of the workers', () => {
  const setUp = (env: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'spike-api-threads-'));
    const script = join(dir, 'metrics-worker.mjs');
    writeFileSync(script, METRICS_WORKER);
    Object.assign(process.env, env);
    const threads = createApiThreads({
      workers: 2,
      counters: createCounters(),
      handler: () => undefined,
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
      keepAliveTimeoutMs: 1_000,
      logger: createLogger({ level: 'error', sink: () => undefined }),
      onRootKey: () => undefined,
      policies: () => [],
      onAudit: () => undefined,
      workerUrl: pathToFileURL(script),
      restart: { firstMs: 60_000, maxMs: 60_000, stableMs: 60_000 },
      metricsTimeoutMs: 200,
    });
    const tearDown = async (): Promise<void> => {
      await threads.stop();
      for (const k of Object.keys(env)) delete process.env[k];
      rmSync(dir, { recursive: true, force: true });
    };
    return { threads, tearDown };
  };
  /** The summed value of each metric over the snapshots. */
  const totals = async (snapshots: readonly (readonly MetricJson[])[]): Promise<Record<string, number>> => {
    const json = (await aggregate(snapshots).getMetricsAsJSON()) as unknown as MetricJson[];
    return Object.fromEntries(json.map((m) => [m.name, m.values.reduce((a, v) => a + v.value, 0)]));
  };

  it("collects every worker's snapshot; one that does not answer in time is stale, with its last numbers", async () => {
    const { threads, tearDown } = setUp({ FAKE_SILENT: '2' });
    try {
      await threads.start(0, '127.0.0.1');
      assert.equal(threads.running, 2);
      const first = await threads.collectMetrics();
      assert.equal(first.stale, 0);
      assert.deepEqual(await totals(first.snapshots), { spike_x_total: 30, spike_g: 2 });
      const second = await threads.collectMetrics();
      assert.equal(second.stale, 1);
      assert.deepEqual(await totals(second.snapshots), { spike_x_total: 30, spike_g: 2 });
    } finally {
      await tearDown();
    }
  });

  it('keeps the counters of a worker that exited (totals never go down), drops its gauges, counts the restart', async () => {
    const { threads, tearDown } = setUp({ FAKE_EXIT: '2' });
    try {
      await threads.start(0, '127.0.0.1');
      assert.deepEqual(await totals((await threads.collectMetrics()).snapshots), {
        spike_x_total: 30,
        spike_g: 2,
      });
      const deadline = Date.now() + 10_000;
      while (threads.running > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(threads.running, 1);
      assert.equal(threads.restarts, 1);
      const after = await threads.collectMetrics();
      assert.equal(after.stale, 0);
      assert.deepEqual(await totals(after.snapshots), { spike_x_total: 30, spike_g: 1 });
    } finally {
      await tearDown();
    }
  });
});
