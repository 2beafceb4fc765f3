/**
 * `npm run bench:ceiling`: how many requests per second this machine leaves for a Node.js mTLS
 * server, measured with the same load generator and client identity as `bench:nexus`.
 *
 * A stand-in server runs the mTLS server helper Nexus uses, with the dev issuer's Nexus SVID, and
 * answers every request with a fixed 1 KiB JSON body and Nexus's response headers after a fixed
 * amount of CPU work (a loop calibrated at start to take the given microseconds on an idle core;
 * CPU work, not a wall-clock wait, so that a preempted thread does not get its work for free).
 * The work levels show how much per-request work a target throughput leaves room for on this
 * machine, at this moment. With `--threads 1,2` the same server also runs as several threads of
 * one process sharing the port (`reusePort`), each a complete request pipeline.
 *
 *   npm run bench:ceiling                       # 1 thread; work 0,30,45,60 µs; 3 runs of 4 s
 *   npm run bench:ceiling -- --work 60 --threads 1,2 --runs 5 --seconds 10
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createMtlsServer, createX509Source } from '@spike-ts/identity';
import { freePorts, Stack } from '../scripts/stack.ts';
import { LoadWorker } from './worker-handle.ts';

const BODY = Buffer.from(JSON.stringify({ data: { value: 'x'.repeat(1024) } }));

/** Loop iterations per microsecond of CPU on this core (measured once per thread). */
function calibrate(): number {
  const n = 20_000_000;
  const started = performance.now();
  spin(n);
  return n / ((performance.now() - started) * 1000);
}

function spin(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  return x;
}

interface ServerSetup {
  readonly endpoint: string;
  readonly port: number;
  readonly work: Int32Array;
}

/** One complete server pipeline on this thread; `work[0]` holds the current work in µs. */
async function serve({ endpoint, port, work }: ServerSetup): Promise<() => Promise<void>> {
  const perMicro = calibrate();
  const source = await createX509Source({ endpoint });
  let sink = 0;
  const respond = (res: ServerResponse): void => {
    sink ^= spin(Math.round(Atomics.load(work, 0) * perMicro));
    res.writeHead(200, {
      'Cache-Control': 'no-store, no-cache, must-revalidate, private',
      Pragma: 'no-cache',
      Expires: '0',
      'Content-Type': 'application/json',
      'Content-Length': BODY.length,
      'X-Content-Type-Options': 'nosniff',
      'X-Request-Id': crypto.randomUUID(),
    });
    res.end(BODY);
  };
  const server = createMtlsServer(source, {}, (req, res) => {
    req.resume();
    req.once('end', () => respond(res));
  });
  await new Promise<void>((resolve) => server.listen({ port, host: '127.0.0.1', reusePort: true }, resolve));
  return async () => {
    // Uses the loops' result, so that the compiler cannot drop the work.
    if (sink === 0.5) process.stdout.write('');
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await source.close();
  };
}

if (!isMainThread) {
  const stop = await serve(workerData as ServerSetup);
  parentPort?.postMessage('listening');
  parentPort?.once('message', () => void stop().then(() => process.exit(0)));
} else {
  const { values } = parseArgs({
    options: {
      work: { type: 'string', default: '0,30,45,60' },
      threads: { type: 'string', default: '1' },
      runs: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '64' },
    },
  });
  const list = (v: string): number[] => v.split(',').map(Number);
  const levels = list(values.work);
  const threadCounts = list(values.threads);
  const runs = Number(values.runs);
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  if (
    levels.some((w) => !Number.isFinite(w) || w < 0) ||
    threadCounts.some((t) => !Number.isInteger(t) || t < 1 || t > 16) ||
    !(runs >= 1) ||
    !(seconds > 0) ||
    !(concurrency >= 1)
  ) {
    process.stderr.write(
      'usage: npm run bench:ceiling -- [--work 0,30,45,60] [--threads 1,2] [--runs 3] [--seconds 4] [--concurrency 64]\n',
    );
    process.exit(2);
  }

  const dir = mkdtempSync(join(tmpdir(), 'spike-ceiling-'));
  const socketDir = mkdtempSync(join(tmpdir(), 'spk-'));
  const stack = await Stack.withFreePorts({ dir, socketDir });
  try {
    await stack.startIssuer();
    process.stdout.write(
      `| Threads | CPU work per request | Requests/s (median of ${String(runs)}) | All runs |\n|--:|--:|--:|---|\n`,
    );
    for (const threads of threadCounts) {
      const [port] = await freePorts(1);
      const work = new Int32Array(new SharedArrayBuffer(4));
      const setup: ServerSetup = { endpoint: stack.endpoint('nexus'), port: port ?? 0, work };
      const stopMain = await serve(setup);
      const workers = await Promise.all(
        Array.from(
          { length: threads - 1 },
          () =>
            new Promise<Worker>((resolve, reject) => {
              const w = new Worker(new URL(import.meta.url), { workerData: setup });
              w.once('message', () => resolve(w));
              w.once('error', reject);
            }),
        ),
      );
      const load = await LoadWorker.start(stack.baseEnv('demo'), '127.0.0.1', setup.port);
      for (const level of levels) {
        Atomics.store(work, 0, level);
        const results: number[] = [];
        for (let i = 0; i < runs; i++) {
          const r = await load.run({
            op: { kind: 'get', prefix: 'ceiling/', keys: 1 },
            concurrency,
            durationMs: seconds * 1000,
            warmupMs: 1000,
          });
          if (r.errors > 0) throw new Error(`${String(r.errors)} requests failed`);
          results.push(Math.round(r.throughput));
        }
        const sorted = [...results].sort((a, b) => a - b);
        const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
        const fmt = (n: number): string => n.toLocaleString('en-US');
        process.stdout.write(
          `| ${String(threads)} | ${String(level)} µs | ${fmt(median)} | ${results.map(fmt).join(', ')} |\n`,
        );
      }
      await load.stop();
      for (const w of workers) {
        const exited = new Promise((resolve) => w.once('exit', resolve));
        w.postMessage('stop');
        await exited;
      }
      await stopMain();
    }
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(socketDir, { recursive: true, force: true });
  }
}
