/**
 * Child process for the SPIRE suite: makes SDK calls as whatever role it was started as (so with
 * that role's SPIRE-issued SVID) and prints one JSON line per call — `{ ok, value }` or
 * `{ ok: false, code, status, message }`. Byte arguments and results travel as `{ b64: ... }`.
 *
 *   node sdk-runner.ts '[{"method":"putSecret","args":["a/b",{"k":"v"}]}, ...]'
 */
import { createSpikeClient, isSpikeError } from '@spike-ts/sdk';
import type { SpikeClient } from '@spike-ts/sdk';

interface Call {
  method: keyof SpikeClient;
  args: unknown[];
}

function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    if (typeof obj['b64'] === 'string' && Object.keys(obj).length === 1) {
      return new Uint8Array(Buffer.from(obj['b64'], 'base64'));
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}

function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

const calls = JSON.parse(process.argv[2] ?? '[]') as Call[];
const print = (line: unknown): void => {
  process.stdout.write(JSON.stringify(line) + '\n');
};

let client: SpikeClient | undefined;
try {
  client = await createSpikeClient();
  for (const call of calls) {
    const target = client;
    const method = call.method;
    const invoke = (args: unknown[]): Promise<unknown> =>
      (target[method] as (this: SpikeClient, ...a: unknown[]) => Promise<unknown>).apply(target, args);
    try {
      const value = await invoke(call.args.map(fromWire));
      print({ ok: true, value: toWire(value) ?? null });
    } catch (err) {
      if (!isSpikeError(err)) throw err;
      print({ ok: false, code: err.code, status: err.status, message: err.message });
    }
  }
} catch (err) {
  print({ ok: false, code: 'runner', status: 0, message: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
} finally {
  await client?.close();
}
