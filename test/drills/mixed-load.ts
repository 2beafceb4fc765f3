/**
 * A mixed write load for the replica drills, run as its own process with a Pilot superuser SVID
 * (`Stack.startClient`), talking to the Nexus URLs in `SPIKE_NEXUS_API_URL` (comma-separated:
 * the SDK fails over between them). Each worker loops over three kinds of request:
 *
 *   - a new secret at a fresh path `<prefix>/new/<n>` (a failed path is never written again);
 *   - a new version of the worker's own secret `<prefix>/own/<worker>` (only that worker writes it);
 *   - a read of a path this process saw acknowledged, which must return the acknowledged value.
 *
 * One line per outcome on stdout:
 *
 *   try <path> <value>        about to write (own paths only: a failed write may still have landed)
 *   ack <path> <value>        Nexus acknowledged the write: the drill must find it later
 *   err <status> <code>       the request failed (HTTP status, 0 when no answer, and the SDK code)
 *   stale <path>              a read after an acknowledgement returned something else
 *
 * SIGTERM stops issuing requests, lets the in-flight ones finish and exits 0.
 *
 * Usage: node mixed-load.ts <prefix> [workers=3]
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSpikeClient, isSpikeError } from '@spike-ts/sdk';

const prefix = process.argv[2];
const workers = Number(process.argv[3] ?? '3');
if (prefix === undefined || !/^[a-z0-9/_-]+$/.test(prefix) || !(workers >= 1 && workers <= 32)) {
  process.stderr.write('usage: mixed-load.ts <prefix> [workers 1..32]\n');
  process.exit(2);
}

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

// A short request timeout: after a crash the next attempt should fail fast, not hang.
const client = await createSpikeClient({ timeoutMs: 5000 });
const acked: [string, string][] = [];
let next = 0;

function failed(err: unknown): void {
  if (isSpikeError(err)) process.stdout.write(`err ${String(err.status)} ${err.code}\n`);
  else process.stdout.write(`err 0 ${err instanceof Error ? err.name : 'unknown'}\n`);
}

async function worker(w: number): Promise<void> {
  let round = 0;
  while (!stopping) {
    round++;
    const value = randomBytes(9).toString('hex');
    try {
      if (round % 3 === 1) {
        const path = `${prefix}/new/${String(next++)}`;
        await client.putSecret(path, { value });
        acked.push([path, value]);
        process.stdout.write(`ack ${path} ${value}\n`);
      } else if (round % 3 === 2) {
        const path = `${prefix}/own/${String(w)}`;
        process.stdout.write(`try ${path} ${value}\n`);
        await client.putSecret(path, { value });
        process.stdout.write(`ack ${path} ${value}\n`);
      } else {
        const pick = acked[Math.floor(Math.random() * acked.length)];
        if (pick === undefined) continue;
        const got = await client.getSecret(pick[0]);
        if (got['value'] !== pick[1]) process.stdout.write(`stale ${pick[0]}\n`);
      }
    } catch (err) {
      failed(err);
      await sleep(50);
    }
  }
}

await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
await client.close();
process.exit(0);
