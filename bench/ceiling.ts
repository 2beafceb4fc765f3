/**
 * `npm run bench:ceiling`: how many requests per second this machine leaves for a Node.js mTLS
 * server, measured with the same load generator and client identity as `bench:nexus`.
 *
 * A stand-in server (this process) runs the mTLS server helper Nexus uses, with the dev issuer's
 * Nexus SVID, and answers every request with a fixed 1 KiB JSON body and Nexus's response headers
 * after spinning for a given number of microseconds of "application work". The work levels show
 * how much per-request work a target throughput leaves room for on this machine, at this moment.
 *
 *   npm run bench:ceiling                       # work levels 0,30,45,60 µs, 3 runs of 4 s each
 *   npm run bench:ceiling -- --work 0,50 --runs 5 --seconds 10
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMtlsServer, createX509Source } from '@spike-ts/identity';
import { freePorts, Stack } from '../scripts/stack.ts';
import { LoadWorker } from './worker-handle.ts';

const { values } = parseArgs({
  options: {
    work: { type: 'string', default: '0,30,45,60' },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '64' },
  },
});
const levels = values.work.split(',').map(Number);
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
if (
  levels.some((w) => !Number.isFinite(w) || w < 0) ||
  !(runs >= 1) ||
  !(seconds > 0) ||
  !(concurrency >= 1)
) {
  process.stderr.write(
    'usage: npm run bench:ceiling -- [--work 0,30,45,60] [--runs 3] [--seconds 4] [--concurrency 64]\n',
  );
  process.exit(2);
}

const BODY = Buffer.from(JSON.stringify({ data: { value: 'x'.repeat(1024) } }));
let workMicros = 0;

function respond(res: ServerResponse): void {
  const until = performance.now() + workMicros / 1000;
  while (performance.now() < until) {
    // stands in for routing, authorization, storage and auditing
  }
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
}

const dir = mkdtempSync(join(tmpdir(), 'spike-ceiling-'));
const socketDir = mkdtempSync(join(tmpdir(), 'spk-'));
const stack = await Stack.withFreePorts({ dir, socketDir });
try {
  await stack.startIssuer();
  const source = await createX509Source({ endpoint: stack.endpoint('nexus') });
  const server = createMtlsServer(source, {}, (req, res) => {
    req.resume();
    req.once('end', () => respond(res));
  });
  const [port] = await freePorts(1);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const load = await LoadWorker.start(stack.baseEnv('demo'), '127.0.0.1', port ?? 0);
  process.stdout.write(
    `| Work per request | Requests/s (median of ${String(runs)}) | All runs |\n|--:|--:|---|\n`,
  );
  for (const level of levels) {
    workMicros = level;
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
    const median = [...results].sort((a, b) => a - b)[Math.floor(results.length / 2)] ?? 0;
    process.stdout.write(
      `| ${String(level)} µs | ${median.toLocaleString('en-US')} | ${results.map((n) => n.toLocaleString('en-US')).join(', ')} |\n`,
    );
  }
  await load.stop();
  server.closeAllConnections();
  server.close();
  await source.close();
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(socketDir, { recursive: true, force: true });
}
