/**
 * Child process for the SPIRE suite: a steady read load on one secret through the SDK (one client,
 * keep-alive mTLS connections) with the SVID of whatever role it was started as. Every answer is
 * checked against the expected values; every failure is counted. The serial of each X.509-SVID
 * the client's source receives is recorded, so the test can see the client rotate.
 *
 * Prints a JSON status line every 500 ms and a final one (`final: true`) after its stdin closes.
 *
 *   node load-client.ts <secret path> '<expected values as JSON>' [workers]
 */
import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createX509Source } from '@spike-ts/identity';
import type { X509Source } from '@spike-ts/identity';
import { createSpikeClient } from '@spike-ts/sdk';

const path = process.argv[2] ?? '';
const expected = JSON.parse(process.argv[3] ?? '{}') as Record<string, string>;
const workers = Number(process.argv[4] ?? '2');
/** Pause between two requests of one worker: a steady load that leaves CPU for everyone else. */
const PAUSE_MS = 25;

const serials: string[] = [];
const errors: string[] = [];
let ok = 0;
let failed = 0;
let stopping = false;

function noteSerial(source: X509Source): void {
  const leaf = source.getX509Svid().certChainDer[0];
  if (leaf === undefined) return;
  const serial = new X509Certificate(leaf).serialNumber;
  if (serials.at(-1) !== serial) serials.push(serial);
}

function sameValues(got: Record<string, string>): boolean {
  const keys = Object.keys(expected);
  return Object.keys(got).length === keys.length && keys.every((k) => got[k] === expected[k]);
}

const status = (final: boolean): string => JSON.stringify({ final, ok, failed, serials, errors }) + '\n';

const source = await createX509Source({ env: process.env, timeoutMs: 30_000 });
noteSerial(source);
source.onUpdate(() => noteSerial(source));
const spike = await createSpikeClient({ source, env: process.env });

async function worker(): Promise<void> {
  while (!stopping) {
    try {
      const got = await spike.getSecret(path);
      if (sameValues(got)) ok++;
      else {
        failed++;
        if (errors.length < 20) errors.push('unexpected secret values');
      }
    } catch (err) {
      failed++;
      if (errors.length < 20) errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    }
    await sleep(PAUSE_MS);
  }
}

const ticker = setInterval(() => process.stdout.write(status(false)), 500);
const running = Promise.all(Array.from({ length: workers }, () => worker()));
process.stdin.resume();
process.stdin.once('end', () => {
  stopping = true;
});
await running;
clearInterval(ticker);
process.stdout.write(status(true));
await spike.close();
await source.close();
