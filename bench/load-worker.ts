/**
 * Load generator process for `npm run bench:nexus`. It gets its X.509-SVID from the Workload API
 * named by `SPIFFE_ENDPOINT_SOCKET` (like any workload), keeps up to N keep-alive mTLS
 * connections to Nexus open, and runs what the driver asks over the IPC channel: timed read or
 * write runs at a given concurrency, or a counted batch (seeding). It answers with throughput and
 * latency percentiles; every non-200 answer is counted as an error.
 *
 * With several ports (`<port>,<port>,…`: Nexus replicas), connection n goes to port n mod count.
 *
 * Usage (driver only): fork('bench/load-worker.ts', ['<host>', '<port>[,<port>…]'], { env: { SPIFFE_ENDPOINT_SOCKET } })
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import type { DriverMessage, LoadOp, RunRequest, RunResult, WorkerMessage } from './load-protocol.ts';
import { MtlsConnection } from './mtls-connection.ts';
import { SampleBuffer, summarizeLatencies } from './stats.ts';

const SECRETS_URL = '/v1/store/secrets';
const SECRETS_GET_URL = '/v1/store/secrets?action=get';
const POLICY_URL = '/v1/acl/policy';

const host = process.argv[2] ?? '127.0.0.1';
const ports = (process.argv[3] ?? '').split(',').map(Number);

function send(msg: WorkerMessage): void {
  process.send?.(msg);
}

const pool: MtlsConnection[] = [];

async function connection(source: X509Source, slot: number): Promise<MtlsConnection> {
  const existing = pool[slot];
  if (existing !== undefined && !existing.closed) return existing;
  const conn = await MtlsConnection.open({ host, port: ports[slot % ports.length] ?? 0, source });
  pool[slot] = conn;
  return conn;
}

/** Builds request n of an operation: the target URL and the JSON body. */
function requestBuilder(op: LoadOp): (n: number) => [string, Buffer] {
  switch (op.kind) {
    case 'get':
      return () => [
        SECRETS_GET_URL,
        Buffer.from(`{"path":"${op.prefix}${String(randomInt(op.keys))}","version":0}`),
      ];
    case 'put': {
      // A few distinct random values, base64 so the JSON needs no escaping; exactly valueBytes chars.
      const values = Array.from({ length: 8 }, () =>
        randomBytes(op.valueBytes).toString('base64').slice(0, op.valueBytes),
      );
      const start = op.start ?? 0;
      return (n) => [
        SECRETS_URL,
        Buffer.from(
          `{"path":"${op.prefix}${String((start + n) % op.keys)}","values":{"value":"${values[n % values.length] as string}"}}`,
        ),
      ];
    }
    case 'policy-put':
      return (n) => [POLICY_URL, Buffer.from(JSON.stringify(op.policies[n]))];
    case 'policy-delete':
      return (n) => [`${POLICY_URL}?action=delete`, Buffer.from(JSON.stringify({ id: op.names[n] }))];
  }
}

async function run(source: X509Source, req: RunRequest): Promise<RunResult> {
  const build = requestBuilder(req.op);
  const samples = new SampleBuffer();
  const failures: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let next = 0;
  let recording = req.durationMs === undefined;
  let stopAt = Number.POSITIVE_INFINITY;
  const limit = req.count ?? Number.POSITIVE_INFINITY;

  if (req.reconnect === true) {
    for (const c of pool.splice(0)) c.close();
  }
  await Promise.all(Array.from({ length: req.concurrency }, (_, slot) => connection(source, slot)));

  let started = performance.now();
  if (req.durationMs !== undefined) {
    const warmup = req.warmupMs ?? 0;
    setTimeout(() => {
      recording = true;
      started = performance.now();
      stopAt = started + (req.durationMs ?? 0);
    }, warmup);
  }

  const loop = async (slot: number): Promise<void> => {
    for (;;) {
      if (performance.now() >= stopAt) return;
      if (next >= limit) return;
      const n = next++;
      const [target, body] = build(n);
      const t0 = performance.now();
      let status: string;
      try {
        const conn = await connection(source, slot);
        const res = await conn.post(target, body);
        status = String(res.status);
      } catch {
        status = 'error';
      }
      const t1 = performance.now();
      if (!recording || t1 > stopAt) continue;
      if (status === '200') {
        ok++;
        samples.push(t1 - t0);
      } else {
        errors++;
        failures[status] = (failures[status] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: req.concurrency }, (_, slot) => loop(slot)));
  const elapsedMs = (req.durationMs === undefined ? performance.now() : stopAt) - started;
  return {
    type: 'result',
    ok,
    errors,
    failures,
    elapsedMs,
    throughput: (ok / elapsedMs) * 1000,
    latencyMs: summarizeLatencies(samples.values()),
  };
}

async function main(): Promise<void> {
  if (!ports.every((p) => Number.isInteger(p) && p > 0)) {
    throw new Error('usage: load-worker.ts <host> <port>[,<port>…]');
  }
  const source = await createX509Source({ timeoutMs: 20_000 });
  send({ type: 'ready', spiffeId: source.getX509Svid().spiffeId });
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (msg: DriverMessage) => {
    if (msg.type === 'stop') {
      for (const c of pool) c.close();
      void source.close().finally(() => process.exit(0));
      return;
    }
    queue = queue.then(async () => {
      try {
        send(await run(source, msg));
      } catch (err) {
        send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      }
    });
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
