/**
 * A write load for the failure drills, run as its own process with a Pilot superuser SVID
 * (`Stack.startClient`). Workers write secrets through the SDK, each to a fresh path
 * `<prefix>/<n>` with a random value, and print one line per outcome on stdout:
 *
 *   ack <path> <value>   Nexus acknowledged the write (the only writes a drill may expect back)
 *   err <code>           the write failed (Nexus down, not ready, ...); its path is never reused
 *
 * A failed path is never written again, so every acknowledged path was written exactly once and
 * must read back with exactly the acknowledged value. SIGTERM stops issuing new writes, lets the
 * in-flight ones finish (ack or err) and exits 0.
 *
 * Usage: node write-load.ts <prefix> [concurrency=4]
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSpikeClient, isSpikeError } from '@spike-ts/sdk';

const prefix = process.argv[2];
const concurrency = Number(process.argv[3] ?? '4');
if (prefix === undefined || !/^[a-z0-9/_-]+$/.test(prefix) || !(concurrency >= 1 && concurrency <= 64)) {
  process.stderr.write('usage: write-load.ts <prefix> [concurrency 1..64]\n');
  process.exit(2);
}

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

// A short request timeout: after a crash the next attempt should fail fast, not hang.
const client = await createSpikeClient({ timeoutMs: 5000 });
let next = 0;

async function worker(): Promise<void> {
  while (!stopping) {
    const n = next++;
    const path = `${prefix}/${String(n)}`;
    const value = randomBytes(12).toString('hex');
    try {
      await client.putSecret(path, { seq: String(n), value });
      process.stdout.write(`ack ${path} ${value}\n`);
    } catch (err) {
      process.stdout.write(`err ${isSpikeError(err) ? err.code : 'unknown'}\n`);
      await sleep(100);
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()));
await client.close();
process.exit(0);
